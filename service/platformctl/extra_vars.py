"""`-e` arguments: their values go to Ansible only; platformctl records and prints their names.

Values that look secret (by name, or from an `@file`, where secrets usually live) are also masked in
what platformctl prints and in the artifacts it keeps, in case a task echoes one.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The override of the maintenance-window guard: its value is a reason, recorded in the audit by design.
WINDOW_OVERRIDE = "platform_window_override"
MASK = "********"
_SECRET_NAME = re.compile(r"key|secret|pass|token|credential|vault|auth", re.IGNORECASE)
# Shorter values are left alone: masking "1" or "true" everywhere would garble the output.
_MIN_MASKED_LENGTH = 4


@dataclass
class ExtraVars:
    values: dict[str, Any] = field(default_factory=dict)
    # Files Ansible must read itself (vault-encrypted, or not a mapping we can read): passed as `-e @file`.
    opaque_files: list[Path] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)

    @property
    def names(self) -> list[str]:
        return sorted(self.values) + [f"@{path}" for path in self.opaque_files]

    def cmdline(self) -> list[str]:
        return [arg for path in self.opaque_files for arg in ("-e", f"@{path}")]

    def mask(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
            escaped = json.dumps(secret)[1:-1]
            if escaped != secret:
                text = text.replace(escaped, MASK)
        return text


def parse(arguments: list[str]) -> ExtraVars:
    """Ansible's three `-e` forms: `k=v [k2=v2 ...]`, a JSON/YAML mapping, `@file`."""
    result = ExtraVars()
    for argument in arguments:
        if argument.startswith("@"):
            _add_file(result, Path(argument[1:]).expanduser().resolve())
        elif argument.lstrip().startswith("{"):
            mapping = yaml.safe_load(argument)
            if not isinstance(mapping, dict):
                raise ValueError("an -e mapping must be a JSON or YAML object")
            _add(result, mapping, from_file=False)
        else:
            for pair in shlex.split(argument):
                name, sep, value = pair.partition("=")
                if not sep or not name:
                    raise ValueError(
                        f"-e expects name=value, a mapping or @file, got an argument without '=' ({name!r})"
                    )
                _add(result, {name: value}, from_file=False)
    return result


def _add_file(result: ExtraVars, path: Path) -> None:
    text = path.read_text()
    if text.startswith("$ANSIBLE_VAULT"):
        result.opaque_files.append(path)
        return
    mapping = yaml.safe_load(text)
    if not isinstance(mapping, dict):
        result.opaque_files.append(path)
        return
    _add(result, mapping, from_file=True)


def _add(result: ExtraVars, mapping: dict[Any, Any], *, from_file: bool) -> None:
    for name, value in mapping.items():
        result.values[str(name)] = value
        if str(name) != WINDOW_OVERRIDE and (from_file or _SECRET_NAME.search(str(name))):
            result.secrets.update(_strings(value))


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {s for item in value.values() for s in _strings(item)}
    if isinstance(value, list):
        return {s for item in value for s in _strings(item)}
    text = str(value)
    return {text} if len(text) >= _MIN_MASKED_LENGTH else set()
