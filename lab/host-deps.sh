#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build, the tests and `make up` need on the controller,
# and the project's virtualenv. Quick when everything is already there.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

packages=(docker.io debootstrap rsync postgresql haproxy jq curl git make shellcheck python3 python3-venv python3-pip)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    say "packages present"
fi
# The Debian postgresql package starts a cluster on 5432 that the tests do not use; they start their own.

venv=.venv
stamp=$venv/.inputs.sha256
hash=$(inputs_hash pyproject.toml)
if ! stamp_is_current "$stamp" "$hash"; then
    say "building $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -U pip wheel
    "$venv/bin/pip" install -q -e '.[dev,ops]'
    echo "$hash" >"$stamp"
else
    say "$venv up to date"
fi
