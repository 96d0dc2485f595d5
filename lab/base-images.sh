#!/usr/bin/env bash
# Builds the lab's base images locally (there is no registry to pull from):
#   lab/debian:bookworm         debootstrap minbase rootfs, cached as a tarball and `docker import`ed
#   lab/python:3.11-bookworm    Debian's python3 + venv on it (stands in for python:3.11-slim-bookworm)
#   lab/systemd-host:bookworm   systemd as PID 1, the Molecule test host
# Each image is rebuilt only when its inputs (Dockerfile, base image id) change; LAB_FORCE=1 forces it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export PATH=$PATH:/usr/sbin:/sbin

SUITE=bookworm
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOTFS_DIR=$CACHE_DIR/rootfs
ROOTFS_TAR=$ROOTFS_DIR/debian-$SUITE-minbase.tar

# The apt sources every image starts from: the release, its point updates and security fixes.
debian_sources() {
    cat <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

# Documentation, manuals and translations no container reads (about 50 MB): dpkg skips them in every
# image built on this base; the copyright files stay.
dpkg_excludes() {
    cat <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
}

build_rootfs() {
    local recipe tmp dir
    recipe=$(inputs_hash -- "$SUITE" minbase "$MIRROR" "$(debian_sources)" "$(dpkg_excludes)")
    if [ -f "$ROOTFS_TAR" ] && stamp_is_current "$ROOTFS_TAR.inputs" "$recipe"; then
        say "rootfs: reused $ROOTFS_TAR"
        return
    fi
    mkdir -p "$ROOTFS_DIR"
    tmp=$(mktemp -d "$ROOTFS_DIR/build.XXXXXX")
    # shellcheck disable=SC2064 # expand now: the path is fixed
    trap "as_root rm -rf '$tmp'" EXIT
    quietly debootstrap as_root debootstrap --variant=minbase "$SUITE" "$tmp/root" "$MIRROR"
    as_root rm -f "$tmp/root/etc/apt/sources.list"
    debian_sources | as_root tee "$tmp/root/etc/apt/sources.list.d/debian.sources" >/dev/null
    dpkg_excludes | as_root tee "$tmp/root/etc/dpkg/dpkg.cfg.d/lab-excludes" >/dev/null
    # What debootstrap installed before the excludes existed goes the same way.
    as_root find "$tmp/root/usr/share/doc" -type f ! -name copyright -delete
    for dir in man info groff lintian locale; do
        [ ! -d "$tmp/root/usr/share/$dir" ] || as_root find "$tmp/root/usr/share/$dir" -mindepth 1 -delete
    done
    # Package lists and downloaded .debs are stale the moment the image is built.
    as_root find "$tmp/root/var/lib/apt/lists" "$tmp/root/var/cache/apt/archives" -type f -delete
    as_root tar --numeric-owner -C "$tmp/root" -cf "$ROOTFS_TAR.part" .
    as_root chown "$(id -u):$(id -g)" "$ROOTFS_TAR.part"
    mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
    echo "$recipe" >"$ROOTFS_TAR.inputs"
    as_root rm -rf "$tmp"
    trap - EXIT
    say "rootfs: built $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

import_debian() {
    local image=lab/debian:$SUITE hash
    # The tarball's recipe and its mtime: a rebuilt rootfs is imported again.
    hash=$(inputs_hash "$ROOTFS_TAR.inputs" -- "$(stat -c %Y "$ROOTFS_TAR")")
    if image_is_current "$image" "$hash"; then
        say "$image: reused"
        return
    fi
    docker import --change "LABEL $INPUTS_LABEL=$hash" --change 'CMD ["bash"]' \
        "$ROOTFS_TAR" "$image" >/dev/null
    say "$image: built"
}

# build_image NAME:TAG DIR BASE: docker build DIR when its Dockerfile or its base image changed.
build_image() {
    local image=$1 dir=$2 base=$3 hash
    hash=$(inputs_hash "$dir/Dockerfile" -- "$(image_id "$base")")
    if image_is_current "$image" "$hash"; then
        say "$image: reused"
        return
    fi
    quietly "build-${image//[\/:]/-}" docker build --label "$INPUTS_LABEL=$hash" -t "$image" "$dir"
    say "$image: built ($(docker image inspect --format '{{.Size}}' "$image" | numfmt --to=iec))"
}

build_rootfs
import_debian
build_image lab/python:3.11-$SUITE "$LAB_DIR/images/python" lab/debian:$SUITE
build_image lab/systemd-host:$SUITE "$LAB_DIR/images/systemd-host" lab/debian:$SUITE
