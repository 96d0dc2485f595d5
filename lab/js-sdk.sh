#!/usr/bin/env bash
# Installs the official JS client, @langchain/langgraph-sdk, at the version tests/support/js/package-lock.json
# pins, into tests/support/js/node_modules (git-ignored): tests/integration/test_agent_server_js.py runs a
# node script with it against the service. Installs Debian's nodejs and npm when node is missing.
# Reinstalled only when the lock file changes; LAB_FORCE=1 reinstalls.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JS_DIR=$REPO_ROOT/tests/support/js

if ! { command -v node && command -v npm; } >/dev/null; then
    quietly apt-update as_root apt-get update
    quietly apt-install-node as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
    say "node: installed $(node --version)"
fi

# The SDK's @langchain/core needs node 20 or later (Debian 12's own nodejs is 18): without it the JS
# client test skips, saying why.
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    say "node $(node --version) is older than 20: @langchain/langgraph-sdk not installed"
    exit 0
fi

stamp=$JS_DIR/node_modules/.inputs.sha256
hash=$(inputs_hash "$JS_DIR/package.json" "$JS_DIR/package-lock.json" -- "$(node --version)")
if stamp_is_current "$stamp" "$hash"; then
    say "@langchain/langgraph-sdk: reused $JS_DIR/node_modules"
    exit 0
fi
# `npm ci` installs exactly the lock file and removes whatever node_modules held before.
quietly npm-ci npm ci --prefix "$JS_DIR" --no-audit --no-fund
echo "$hash" >"$stamp"
say "@langchain/langgraph-sdk: installed $(node -p 'require(process.argv[1]).version' \
    "$JS_DIR/node_modules/@langchain/langgraph-sdk/package.json")"
