#!/usr/bin/env bash
# Builds the service image langchain-platform:<tag> from the wheelhouse, on a lab base image.
#   lab/app-image.sh                      langchain-platform:<pyproject version>
#   lab/app-image.sh --version 0.1.1      same code, claiming 0.1.1 (labels and the reported version)
#   lab/app-image.sh --version 0.1.2 --broken
#                                         langchain-platform:0.1.2-broken: starts, never listens
#   lab/app-image.sh --version 0.1.3 --broken-agents
#                                         langchain-platform:0.1.3-broken-agents: listens, its agents never load
#   --tag T          tag to use instead of the version
#   --archive        also write .cache/images/langchain-platform-<tag>.tar.gz (docker save | gzip)
#   --build-arg K=V  passed to docker build (e.g. BASE_IMAGE=python:3.11-slim-bookworm)
#   --no-wheelhouse  use the wheels as they are (lab/setup.sh builds them once for all variants)
# A build is skipped when an image with the same inputs' hash exists; LAB_FORCE=1 forces it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE=langchain-platform
IMAGES_DIR=$CACHE_DIR/images

usage() {
    sed -n '2,13s/^# \{0,1\}//p' "$0"
    exit "${1:-0}"
}

version="" tag="" broken="" archive=0 wheelhouse=1 build_args=()
while [ $# -gt 0 ]; do
    case $1 in
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --broken) broken=broken; shift ;;
    --broken-agents) broken="broken-agents"; shift ;;
    --archive) archive=1; shift ;;
    --build-arg) build_args+=(--build-arg "${2:?--build-arg needs K=V}"); shift 2 ;;
    --no-wheelhouse) wheelhouse=0; shift ;;
    -h | --help) usage ;;
    *) say "unknown argument: $1" >&2; usage 2 >&2 ;;
    esac
done

package_version=$(project_version)
version=${version:-$package_version}
if [ -n "$broken" ]; then tag=${tag:-$version-$broken}; else tag=${tag:-$version}; fi
revision=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
source_url=$(git -C "$REPO_ROOT" remote get-url origin 2>/dev/null || true)

# build_app TAG VERSION: the service image; a version other than the package's is passed as an override.
build_app() {
    local ref=$IMAGE:$1 app_version=$2 override="" base=lab/python:3.11-bookworm arg args hash
    [ "$app_version" = "$package_version" ] || override=$app_version
    # A --build-arg BASE_IMAGE=... replaces the lab base; its id then joins the inputs.
    for arg in "${build_args[@]}"; do
        case $arg in BASE_IMAGE=*) base=${arg#BASE_IMAGE=} ;; esac
    done
    args=(--build-arg "BASE_IMAGE=$base" --build-arg "APP_VERSION=$app_version"
        --build-arg "APP_VERSION_OVERRIDE=$override" --build-arg "GIT_REVISION=$revision"
        --build-arg "SOURCE_URL=$source_url" "${build_args[@]}")
    hash=$(inputs_hash "$REPO_ROOT/Dockerfile" "$REPO_ROOT/.dockerignore" "$CACHE_DIR/wheelhouse/.inputs.sha256" \
        "$CACHE_DIR/dist/.inputs.sha256" -- "$(image_id "$base")" "${args[@]}")
    if image_is_current "$ref" "$hash"; then
        say "$ref: reused"
        return
    fi
    quietly "build-$IMAGE-$1" docker build --label "$INPUTS_LABEL=$hash" "${args[@]}" -t "$ref" "$REPO_ROOT"
    say "$ref: built ($(image_size "$ref"))"
}

# build_broken TAG VERSION KIND: a thin layer over the package version's image, from lab/images/KIND
# (broken: the process never listens; broken-agents: the bundled agents file does not load).
build_broken() {
    local ref=$IMAGE:$1 parent=$IMAGE:$package_version context=$LAB_DIR/images/$3 hash
    build_app "$package_version" "$package_version"
    hash=$(inputs_hash "$context"/* -- "$(image_id "$parent")" "$2")
    if image_is_current "$ref" "$hash"; then
        say "$ref: reused"
        return
    fi
    quietly "build-$IMAGE-$1" docker build --label "$INPUTS_LABEL=$hash" --build-arg "APP_IMAGE=$parent" \
        --build-arg "APP_VERSION=$2" -t "$ref" "$context"
    say "$ref: built ($(image_size "$ref"))"
}

image_size() { docker image inspect --format '{{.Size}}' "$1" | numfmt --to=si --suffix=B; }

# Saves the image unless the archive next to it already records the same image id.
write_archive() {
    local ref=$IMAGE:$1 file=$IMAGES_DIR/$IMAGE-$1.tar.gz id
    id=$(image_id "$ref")
    if [ -f "$file" ] && stamp_is_current "$file.id" "$id"; then
        say "$file: reused"
        return
    fi
    mkdir -p "$IMAGES_DIR"
    docker save "$ref" | gzip -1 >"$file.part"
    mv "$file.part" "$file"
    echo "$id" >"$file.id"
    say "$file: written ($(du -h "$file" | cut -f1))"
}

[ "$wheelhouse" = 0 ] || "$LAB_DIR/wheelhouse.sh"
if [ -n "$broken" ]; then build_broken "$tag" "$version" "$broken"; else build_app "$tag" "$version"; fi
[ "$archive" = 0 ] || write_archive "$tag"
