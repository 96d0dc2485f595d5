"""The roles' public surface, read from the files without running Ansible.

A role's inputs are the options of the entry points in `meta/argument_specs.yml`, which must agree with
`defaults/main.yml`; the entry points other than `main` are the task files that playbooks and other roles
may include (`tasks_from:`), and each must exist. Names that start with `_<role>_` or `__<role>_`, and the
role's files themselves, belong to the role: nothing outside `roles/<role>/` may use them. The
collection's version follows the Python package's.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# Files that use roles: playbooks, inventories, Molecule scenarios, and the roles themselves (each checked
# only against the other roles).
CONSUMER_GLOBS = (
    "playbooks/**/*.yml",
    "inventories/**/*.yml",
    "molecule/**/*.yml",
    "roles/**/*.yml",
    "roles/**/*.j2",
)
ROLE_INCLUDE_MODULES = {
    f"{prefix}{action}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for action in ("include_role", "import_role")
}


class _AnyTagLoader(yaml.SafeLoader):
    """Safe loading that reads Ansible's `!unsafe` and `!vault` tagged values as their plain values."""


_AnyTagLoader.add_multi_constructor(
    "!",
    lambda loader, _suffix, node: (
        loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
    ),
)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_AnyTagLoader)


def role_dirs(root: Path) -> list[Path]:
    roles = root / "roles"
    return sorted(path for path in roles.iterdir() if (path / "tasks").is_dir()) if roles.is_dir() else []


def consumer_files(root: Path) -> list[Path]:
    found = {path for pattern in CONSUMER_GLOBS for path in root.glob(pattern) if path.is_file()}
    return sorted(found)


def owning_role(root: Path, path: Path) -> str | None:
    parts = path.relative_to(root).parts
    return parts[1] if len(parts) > 2 and parts[0] == "roles" else None


def argument_specs(role_dir: Path) -> dict[str, Any]:
    specs_file = role_dir / "meta" / "argument_specs.yml"
    if not specs_file.is_file():
        return {}
    specs: dict[str, Any] = (load_yaml(specs_file) or {}).get("argument_specs") or {}
    return specs


def spec_problems(role_dir: Path) -> list[str]:
    """Where `defaults/main.yml` and the entry points' options disagree.

    An input used by one entry point only (say the action of `server_state`) may be declared there
    alone, so a default needs a declaration in some entry point; every declared option needs a default
    unless it is required, and a documented default must be the one the role applies.
    """
    defaults_file = role_dir / "defaults" / "main.yml"
    defaults: dict[str, Any] = (load_yaml(defaults_file) if defaults_file.is_file() else None) or {}
    specs = argument_specs(role_dir)
    if "main" not in specs:
        return ["meta/argument_specs.yml declares no `main` entry point"]
    options = {entry: (spec or {}).get("options") or {} for entry, spec in specs.items()}
    problems = [
        f"defaults/main.yml sets {name}, which no entry point in argument_specs declares"
        for name in defaults
        if not any(name in entry_options for entry_options in options.values())
    ]
    for entry, entry_options in options.items():
        for name, option in entry_options.items():
            if name not in defaults:
                if not option.get("required", False):
                    problems.append(f"{entry}: {name} is optional but has no default in defaults/main.yml")
            elif "default" in option and option["default"] != defaults[name]:
                documented, applied = option["default"], defaults[name]
                problems.append(
                    f"{entry}: {name} documents default {documented!r}, defaults/main.yml sets {applied!r}"
                )
    return problems


def entry_point_problems(role_dir: Path) -> list[str]:
    return [
        f"entry point {entry!r} has no tasks/{entry}.yml"
        for entry in argument_specs(role_dir)
        if not (role_dir / "tasks" / f"{entry}.yml").is_file()
    ]


def _strings(node: Any) -> Iterator[str]:
    """Every key and string value of a YAML document (comments are not part of it)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _file_text(path: Path) -> str:
    if path.suffix == ".yml":
        return "\n".join(_strings(load_yaml(path)))
    return path.read_text()


def private_use_problems(root: Path, path: Path) -> list[str]:
    """A role's private variables or files used outside `roles/<role>/`."""
    owner = owning_role(root, path)
    text = _file_text(path)
    problems: list[str] = []
    for role in (role_dir.name for role_dir in role_dirs(root)):
        if role == owner:
            continue
        names = sorted(set(re.findall(rf"(?<!\w)__?{role}_\w+", text)))
        if names:
            problems.append(f"uses private variables of role {role}: {', '.join(names)}")
        if re.search(rf"roles/{role}/", text):
            problems.append(f"reaches into roles/{role}/ by path instead of through an entry point")
    return problems


def _role_includes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ROLE_INCLUDE_MODULES and isinstance(value, dict):
                yield value
            else:
                yield from _role_includes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _role_includes(item)


def tasks_from_problems(root: Path, path: Path) -> list[str]:
    """`tasks_from:` of another role that names a task file the role does not declare an entry point."""
    if path.suffix != ".yml":
        return []
    owner = owning_role(root, path)
    problems = []
    for include in _role_includes(load_yaml(path)):
        role = str(include.get("name", "")).rsplit(".", 1)[-1]
        tasks_from = include.get("tasks_from")
        role_dir = root / "roles" / role
        if tasks_from is None or role == owner or not role_dir.is_dir():
            continue
        entry = str(tasks_from).removesuffix(".yml")
        if entry not in argument_specs(role_dir):
            problems.append(
                f"includes {role} tasks_from {tasks_from}: not an entry point in its argument_specs"
            )
    return problems


ROLES = role_dirs(ROOT)
CONSUMERS = consumer_files(ROOT)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _report(path: Path, problems: list[str]) -> str:
    return "\n".join([f"{_rel(path)}:", *problems])


@pytest.mark.parametrize("role_dir", ROLES, ids=[role.name for role in ROLES])
def test_defaults_agree_with_argument_specs(role_dir: Path) -> None:
    problems = spec_problems(role_dir)
    assert problems == [], _report(role_dir, problems)


@pytest.mark.parametrize("role_dir", ROLES, ids=[role.name for role in ROLES])
def test_every_entry_point_has_its_task_file(role_dir: Path) -> None:
    problems = entry_point_problems(role_dir)
    assert problems == [], _report(role_dir, problems)


@pytest.mark.parametrize("path", CONSUMERS, ids=[_rel(path) for path in CONSUMERS])
def test_no_private_names_or_files_of_another_role(path: Path) -> None:
    problems = private_use_problems(ROOT, path)
    assert problems == [], _report(path, problems)


@pytest.mark.parametrize("path", CONSUMERS, ids=[_rel(path) for path in CONSUMERS])
def test_tasks_from_only_declared_entry_points(path: Path) -> None:
    problems = tasks_from_problems(ROOT, path)
    assert problems == [], _report(path, problems)


def test_collection_version_follows_the_package() -> None:
    package = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert load_yaml(ROOT / "galaxy.yml")["version"] == package


# The checker itself, on a synthetic tree.


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


GOOD_ROLE = {
    "roles/web/defaults/main.yml": "web_port: 80\nweb_name: site\nweb_depth: 1\n",
    "roles/web/tasks/main.yml": "- ansible.builtin.debug:\n    msg: '{{ _web_internal }}'\n",
    "roles/web/tasks/verify.yml": "- ansible.builtin.debug:\n    msg: ok\n",
    "roles/web/tasks/helper.yml": "- ansible.builtin.debug:\n    msg: ok\n",
    "roles/web/meta/argument_specs.yml": (
        "argument_specs:\n"
        "  main:\n"
        "    options:\n"
        "      web_port: {type: int, default: 80}\n"
        "      web_name: {type: str}\n"
        "      web_token: {type: str, required: true, no_log: true}\n"
        "  verify:\n"
        "    options:\n"
        "      web_depth: {type: int, default: 1}\n"
    ),
}


def test_checker_accepts_a_role_used_through_its_public_surface(tmp_path: Path) -> None:
    _write(tmp_path, GOOD_ROLE)
    _write(
        tmp_path,
        {
            "playbooks/site.yml": (
                "# _web_internal in a comment is not a use\n"
                "- hosts: all\n"
                "  tasks:\n"
                "    - ansible.builtin.import_role:\n"
                "        name: acme.ops.web\n"
                "        tasks_from: verify.yml\n"
                "      vars:\n"
                "        web_port: 8080\n"
            ),
        },
    )
    role = tmp_path / "roles" / "web"
    assert spec_problems(role) == []
    assert entry_point_problems(role) == []
    for path in consumer_files(tmp_path):
        assert private_use_problems(tmp_path, path) == []
        assert tasks_from_problems(tmp_path, path) == []


def test_checker_names_each_violation(tmp_path: Path) -> None:
    _write(tmp_path, GOOD_ROLE)
    _write(
        tmp_path,
        {
            "roles/web/defaults/main.yml": "web_port: 8080\nweb_name: site\nweb_extra: 1\n",
            "roles/web/meta/argument_specs.yml": (
                "argument_specs:\n"
                "  main:\n"
                "    options:\n"
                "      web_port: {type: int, default: 80}\n"
                "      web_name: {type: str}\n"
                "      web_missing: {type: str}\n"
                "  restart:\n"
                "    options:\n"
                "      web_port: {type: int, default: 8080}\n"
                "      web_grace: {type: int}\n"
            ),
            "roles/db/tasks/main.yml": (
                "- ansible.builtin.include_role:\n    name: web\n    tasks_from: helper\n"
            ),
            "playbooks/ops.yml": (
                "- hosts: all\n"
                "  tasks:\n"
                "    - ansible.builtin.template:\n"
                "        src: '{{ playbook_dir }}/../roles/web/templates/x.j2'\n"
                "        dest: /tmp/x\n"
                "      loop: '{{ __web_hosts }}'\n"
            ),
        },
    )
    role = tmp_path / "roles" / "web"
    assert spec_problems(role) == [
        "defaults/main.yml sets web_extra, which no entry point in argument_specs declares",
        "main: web_port documents default 80, defaults/main.yml sets 8080",
        "main: web_missing is optional but has no default in defaults/main.yml",
        "restart: web_grace is optional but has no default in defaults/main.yml",
    ]
    assert entry_point_problems(role) == ["entry point 'restart' has no tasks/restart.yml"]
    playbook = tmp_path / "playbooks" / "ops.yml"
    assert private_use_problems(tmp_path, playbook) == [
        "uses private variables of role web: __web_hosts",
        "reaches into roles/web/ by path instead of through an entry point",
    ]
    other_role = tmp_path / "roles" / "db" / "tasks" / "main.yml"
    assert tasks_from_problems(tmp_path, other_role) == [
        "includes web tasks_from helper: not an entry point in its argument_specs"
    ]
    # A role's own private names and task files are its business.
    own_task = role / "tasks" / "main.yml"
    assert private_use_problems(tmp_path, own_task) == []
