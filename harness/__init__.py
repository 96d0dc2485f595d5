"""What tests, Molecule tests and benchmarks share: processes, stubs, load, playbook runs.

- `platform_server`: the service as a real `langchain-platform serve` process; `processes`: other
  child processes on free ports (the stub LLM, a bare app); `ports`, `postgres`.
- `stub_openai`, `stub_langsmith`: loopback servers, standard library only, also runnable as scripts.
- `http_checks`: assertions and polling for HTTP tests.
- `loadgen`: the bounded load generator; `procstats`: CPU and memory of a process tree.
- `playbook_runner`: playbooks through ansible-runner; `releases`: image versions and their archives.

Importable from the repository root: pytest puts it on sys.path (pyproject's `pythonpath`), and
`python -m bench.<name>` runs from there.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
