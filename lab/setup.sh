#!/usr/bin/env bash
# Everything `make up` and the Molecule scenarios need, in order, each step timed: Docker Engine, lab
# base images, wheelhouse, the service image langchain-platform:<version>, the test releases
# <next patch> and <patch after>-broken, and a `docker save | gzip` archive of each under .cache/images/
# (the Molecule hosts load them into their own daemons). Warm runs reuse everything; LAB_FORCE=1
# rebuilds it all.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 0 ] || die "usage: $0 (no arguments; see lab/README.md)"

step() {
    local started=$SECONDS
    "$@"
    say "step $(basename "$1") ${*:2}: $((SECONDS - started)) s"
}

# The next patch releases after the package version: the rolling-update and rollback targets.
next_patch() {
    local major_minor=${1%.*} patch=${1##*.}
    echo "$major_minor.$((patch + $2))"
}

step "$LAB_DIR/docker-engine.sh"
step "$LAB_DIR/base-images.sh"
version=$(project_version)
# One wheel build for every variant, so they all hold the same code even while service/ is edited.
step "$LAB_DIR/wheelhouse.sh"
step "$LAB_DIR/app-image.sh" --no-wheelhouse --archive
step "$LAB_DIR/app-image.sh" --no-wheelhouse --version "$(next_patch "$version" 1)" --archive
step "$LAB_DIR/app-image.sh" --no-wheelhouse --version "$(next_patch "$version" 2)" --broken --archive
step "$LAB_DIR/app-image.sh" --no-wheelhouse --version "$(next_patch "$version" 3)" --broken-agents --archive
say "done in $SECONDS s"
