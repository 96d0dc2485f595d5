#!/usr/bin/env bash
# Installs LangGraph's own `langgraph dev` server (langgraph-cli[inmem]) into its own virtualenv,
# .cache/langgraph-dev, for bench/agent_server_bench.py to compare the service with. Never into .venv:
# langgraph-api pins versions of its own. Rebuilt only when bench/langgraph_dev/requirements.txt
# changes; LAB_FORCE=1 rebuilds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV=$CACHE_DIR/langgraph-dev
REQUIREMENTS=$REPO_ROOT/bench/langgraph_dev/requirements.txt

hash=$(inputs_hash "$REQUIREMENTS" -- "$(python3 --version)")
if stamp_is_current "$VENV/.inputs.sha256" "$hash"; then
    say "langgraph dev: reused $VENV"
    exit 0
fi
rm -rf "$VENV"
mkdir -p "$CACHE_DIR"
quietly langgraph-dev-venv python3 -m venv "$VENV"
quietly langgraph-dev-install "$VENV/bin/pip" install --disable-pip-version-check -r "$REQUIREMENTS"
echo "$hash" >"$VENV/.inputs.sha256"
say "langgraph dev: built $VENV ($("$VENV/bin/langgraph" --version))"
