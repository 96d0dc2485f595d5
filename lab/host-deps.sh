#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build, the tests and `make up` need on the controller,
# and the project's virtualenv. Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(docker.io debootstrap rsync postgresql haproxy jq curl git make python3 python3-venv python3-pip)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "host-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "host-deps: packages present"
fi
# The Debian postgresql package starts a cluster on 5432 that the tests do not use; they start their own.

venv=.venv
stamp="$venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -f "$stamp" ]]; then
  echo "host-deps: building $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -U pip wheel
  "$venv/bin/pip" install -q -e '.[dev,ops]'
  rm -f "$venv"/.installed-*
  touch "$stamp"
else
  echo "host-deps: $venv up to date"
fi
