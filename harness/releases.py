"""Release images as the lab builds them and the playbooks deploy them: one version names both the image
`langchain-platform:<version>` and its archive `.cache/images/langchain-platform-<version>.tar.gz`
(lab/app-image.sh --archive), which the roles load on hosts without a registry."""

from __future__ import annotations

from pathlib import Path

from harness import REPO_ROOT

IMAGE_NAME = "langchain-platform"
ARCHIVE_DIR = REPO_ROOT / ".cache" / "images"


def image_archive(version: str) -> Path:
    return ARCHIVE_DIR / f"{IMAGE_NAME}-{version}.tar.gz"


def missing_archives(*versions: str) -> list[Path]:
    """The archives of `versions` that have not been built."""
    return [path for path in map(image_archive, versions) if not path.is_file()]
