#!/usr/bin/env bash
# Builds on the host the wheels the image installs offline (containers here cannot verify PyPI's TLS;
# a fleet without internet builds the same way):
#   .cache/wheelhouse/  the [project] dependencies of pyproject.toml and everything they pull in
#   .cache/dist/        the project's own wheel
# The wheelhouse is rebuilt when the dependency list changes, the project wheel when service/ or
# pyproject.toml changes; LAB_FORCE=1 rebuilds both.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WHEELHOUSE=$CACHE_DIR/wheelhouse
DIST=$CACHE_DIR/dist
# The images run CPython 3.11 on glibc: wheels built by another interpreter would not install there.
IMAGE_PYTHON=3.11

# The project's venv when it exists (it has pip); otherwise a small build venv of the host's python3.
pick_python() {
    if [ -n "${LAB_PYTHON:-}" ]; then
        echo "$LAB_PYTHON"
    elif [ -x "$REPO_ROOT/.venv/bin/python" ]; then
        echo "$REPO_ROOT/.venv/bin/python"
    else
        [ -x "$CACHE_DIR/build-venv/bin/python" ] || python3 -m venv "$CACHE_DIR/build-venv" \
            || die "python3 -m venv failed: install python3-venv"
        echo "$CACHE_DIR/build-venv/bin/python"
    fi
}

PYTHON=$(pick_python)
have=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$have" = "$IMAGE_PYTHON" ] || die "$PYTHON is Python $have; the image needs wheels for $IMAGE_PYTHON (set LAB_PYTHON)"

# Replaces DIR with the freshly built TMP in one step, so an interrupted build never leaves half a cache.
swap_in() {
    local tmp=$1 dir=$2
    rm -rf "$dir.old"
    [ ! -d "$dir" ] || mv "$dir" "$dir.old"
    mv "$tmp" "$dir"
    rm -rf "$dir.old"
}

build_wheelhouse() {
    local deps hash tmp
    deps=$("$PYTHON" -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' "$REPO_ROOT/pyproject.toml")
    hash=$(inputs_hash -- "$deps" "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_platform())')")
    if stamp_is_current "$WHEELHOUSE/.inputs.sha256" "$hash"; then
        say "dependencies: reused $WHEELHOUSE ($(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels)"
        return
    fi
    mkdir -p "$CACHE_DIR"
    tmp=$(mktemp -d "$CACHE_DIR/wheelhouse.XXXXXX")
    echo "$deps" >"$tmp/requirements.txt"
    quietly wheelhouse "$PYTHON" -m pip wheel --disable-pip-version-check -w "$tmp" -r "$tmp/requirements.txt"
    echo "$hash" >"$tmp/.inputs.sha256"
    swap_in "$tmp" "$WHEELHOUSE"
    say "dependencies: built $WHEELHOUSE ($(find "$WHEELHOUSE" -name '*.whl' | wc -l) wheels, $(du -sh "$WHEELHOUSE" | cut -f1))"
}

build_project_wheel() {
    local sources hash tmp src
    mapfile -t sources < <(cd "$REPO_ROOT" && find service -type f ! -path '*/__pycache__/*' \
        ! -path '*.egg-info/*' | sort)
    hash=$(cd "$REPO_ROOT" && inputs_hash pyproject.toml "${sources[@]}" -- "$(cat README.md 2>/dev/null)")
    if stamp_is_current "$DIST/.inputs.sha256" "$hash"; then
        say "project wheel: reused $(basename "$DIST"/*.whl)"
        return
    fi
    tmp=$(mktemp -d "$CACHE_DIR/dist.XXXXXX")
    # Built from a copy: an in-tree build would leave build/ and egg-info in the checkout.
    src=$tmp/src
    mkdir -p "$src"
    (cd "$REPO_ROOT" && cp --parents pyproject.toml "${sources[@]}" "$src"/)
    # pyproject.toml names README.md as the long description; a checkout without one still builds.
    if [ -f "$REPO_ROOT/README.md" ]; then cp "$REPO_ROOT/README.md" "$src"/; else : >"$src/README.md"; fi
    quietly project-wheel "$PYTHON" -m pip wheel --disable-pip-version-check --no-deps -w "$tmp/out" "$src"
    mv "$tmp/out" "$tmp/dist"
    echo "$hash" >"$tmp/dist/.inputs.sha256"
    swap_in "$tmp/dist" "$DIST"
    rm -rf "$tmp"
    say "project wheel: built $(basename "$DIST"/*.whl)"
}

build_wheelhouse
build_project_wheel
