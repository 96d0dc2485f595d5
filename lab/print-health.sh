#!/usr/bin/env bash
# After `make up`: show the operator what the runbook's first command shows, and what to do next.
set -euo pipefail
url="${PLATFORM_URL:-http://localhost:8000}"
health=$(curl -fsS --max-time 5 "$url/health") || {
  echo "langchain-platform does not answer at $url/health: see 'docker logs langchain-platform'" >&2
  exit 1
}
echo "langchain-platform is up at $url (OpenAPI: $url/schema)"
echo "$health" | jq '{status, version, enterprise_agents_loaded, chains_loaded, reasons}'
if [[ "$(echo "$health" | jq -r .enterprise_agents_loaded)" != "true" ]]; then
  echo "Agents are not loaded: export OPENAI_API_KEY (and OPENAI_BASE_URL for an OpenAI-compatible" \
       "server) or set platform_deploy_openai_api_key in inventories/local, then run 'make up' again."
fi
