"""The harness package's own constraints."""

from __future__ import annotations

import sys

from harness import REPO_ROOT


def test_no_harness_module_shadows_the_standard_library() -> None:
    # The stubs also run as scripts (`python3 harness/stub_openai.py`), which puts harness/ first on
    # sys.path: a harness/http.py would then replace the standard library's http for them.
    names = {path.stem for path in (REPO_ROOT / "harness").glob("*.py")}
    assert names & sys.stdlib_module_names == set()
