"""Size of the service image split into its base layers and the application's own layers.

The base is the nearest ancestor in the image's history that carries a tag (the image the last
`FROM` named, whatever --build-arg BASE_IMAGE chose); its layers are the bottom of the application
image's history, so the application's share is the difference of the two sizes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageSplit:
    image: str
    base: str
    total_mb: float
    base_mb: float
    app_layers: list[tuple[str, float]]  # (instruction, MB) of each layer above the base

    @property
    def app_mb(self) -> float:
        return round(self.total_mb - self.base_mb, 1)


def _docker(*args: str) -> str | None:
    if shutil.which("docker") is None:
        return None
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def tagged_ancestor(image: str) -> str | None:
    """The first image below `image` in its history that has a repository tag."""
    history = _docker("history", "-q", image)
    for layer_id in (history or "").splitlines()[1:]:
        if layer_id == "<missing>":
            continue
        tags = _docker("image", "inspect", "--format", '{{join .RepoTags " "}}', layer_id)
        if tags:
            return tags.split()[0]
    return None


def _size_mb(image: str) -> float | None:
    size = _docker("image", "inspect", "--format", "{{.Size}}", image)
    return round(int(size) / 1e6, 1) if size else None


def image_split(image: str, base: str) -> ImageSplit | None:
    """Sizes (MB, 10^6 bytes as docker prints them) of `image` and `base`; None if either is missing."""
    total, base_size = _size_mb(image), _size_mb(base)
    if total is None or base_size is None:
        return None
    history = _docker(
        "history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image
    )
    base_history = _docker("history", "-q", base) or ""
    rows = [line.split("\t", 1) for line in (history or "").splitlines() if "\t" in line]
    # history lists newest first; the base's rows are the last ones.
    own = rows[: max(0, len(rows) - len(base_history.splitlines()))]
    layers = [(created[-90:], round(int(size) / 1e6, 1)) for size, created in own if int(size) > 0]
    return ImageSplit(image=image, base=base, total_mb=total, base_mb=base_size, app_layers=layers)
