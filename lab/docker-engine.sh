#!/usr/bin/env bash
# Makes a Docker Engine answer on this machine: installs docker.io (plus debootstrap and rsync, which the
# base images and Molecule need) and starts the daemon, under systemd when it is PID 1, by hand otherwise.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# debootstrap and dockerd live in sbin, which a non-root PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
DOCKER_WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

install_packages() {
    local need=()
    { command -v docker && command -v dockerd; } >/dev/null || need+=(docker.io)
    command -v debootstrap >/dev/null || need+=(debootstrap)
    command -v rsync >/dev/null || need+=(rsync)
    if [ ${#need[@]} -eq 0 ]; then
        say "packages: reused (docker.io debootstrap rsync present)"
        return
    fi
    quietly apt-update as_root apt-get update
    quietly apt-install as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
    say "packages: installed ${need[*]}"
}

start_daemon() {
    if docker info >/dev/null 2>&1; then
        say "daemon: reused (already answering)"
        return
    fi
    # /proc rather than ps or pgrep: a minimal Debian has no procps.
    if [ "$(cat /proc/1/comm)" = systemd ]; then
        as_root systemctl start docker
        say "daemon: started with systemctl"
    elif [ -f /var/run/docker.pid ] && [ -d "/proc/$(cat /var/run/docker.pid)" ]; then
        say "daemon: dockerd already running, waiting for it"
    else
        # No init system to own the daemon: run it detached, its output kept for diagnosis.
        # shellcheck disable=SC2016 # $1 expands in the inner shell
        as_root sh -c 'nohup dockerd >>"$1" 2>&1 </dev/null &' dockerd "$DOCKERD_LOG"
        say "daemon: started dockerd in the background (log: $DOCKERD_LOG)"
    fi
    local waited=0
    until docker info >/dev/null 2>&1; do
        if [ "$waited" -ge "$DOCKER_WAIT_SECONDS" ]; then
            tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
            die "docker info did not answer within ${DOCKER_WAIT_SECONDS}s (see $DOCKERD_LOG)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

install_packages
start_daemon
say "docker: server $(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}')"
