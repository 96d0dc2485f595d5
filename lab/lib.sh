# shellcheck shell=bash
# Helpers shared by the lab scripts (sourced, never run on its own).

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(dirname "$LAB_DIR")
CACHE_DIR=${LAB_CACHE_DIR:-$REPO_ROOT/.cache}
LOG_DIR=$CACHE_DIR/logs
# Every lab-built image carries this label; a build is skipped when it already holds the inputs' hash.
INPUTS_LABEL=lab.inputs.sha256
# LAB_FORCE=1 rebuilds everything even when the inputs are unchanged.
LAB_FORCE=${LAB_FORCE:-0}

say() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*"; }
die() {
    say "error: $*" >&2
    exit 1
}

# Runs a command as root: the scripts work for root (CI) and for a sudoer alike.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a noisy command with its output in LOG_DIR/<name>.log; on failure shows the log's tail.
quietly() {
    local name=$1 log
    shift
    mkdir -p "$LOG_DIR"
    log=$LOG_DIR/$name.log
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "$name failed (full log: $log)"
    fi
}

# SHA-256 of the named files' contents plus any literal strings given after `--`.
inputs_hash() {
    local files=() extras=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        files+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    extras=("$@")
    {
        [ ${#files[@]} -eq 0 ] || sha256sum "${files[@]}"
        [ ${#extras[@]} -eq 0 ] || printf '%s\n' "${extras[@]}"
    } | sha256sum | cut -d' ' -f1
}

# True when the stamp file records this hash (and LAB_FORCE is off): the cache it stands for was built
# from the same inputs. Each build writes its stamp last, so an interrupted build is never reused.
stamp_is_current() {
    local stamp=$1 hash=$2
    [ "$LAB_FORCE" != 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null; }

# True when the image exists and was built from inputs with this hash (and LAB_FORCE is off).
image_is_current() {
    local image=$1 hash=$2 have
    [ "$LAB_FORCE" = 1 ] && return 1
    have=$(docker image inspect --format "{{ index .Config.Labels \"$INPUTS_LABEL\" }}" "$image" 2>/dev/null) \
        || return 1
    [ "$have" = "$hash" ]
}

# The project version from pyproject.toml, read with the standard library's TOML parser.
project_version() {
    python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
        "$REPO_ROOT/pyproject.toml"
}
