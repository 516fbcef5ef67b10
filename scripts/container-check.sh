#!/usr/bin/env bash
# Builds the Dockerfile and runs the image for real, with podman, on a machine that has no
# Docker engine and cannot pull base images:
#
#   1. makes the base images locally and tags them with the names the Dockerfile's FROM lines
#      use: a Debian bookworm minbase rootfs by debootstrap (as debian:bookworm-slim), and the
#      same plus gcc, the host's Rust toolchain and its CA bundle (as rust:1.95-bookworm);
#   2. builds the real Dockerfile (all stages: cargo-chef dependency layer, release build,
#      slim non-root runtime);
#   3. runs it with a named volume for the store and a mounted config that reads the shipped
#      sample feeds (examples/feeds), published on a loopback port;
#   4. checks from outside the container: /healthz answers, /status counts articles; inside:
#      the HEALTHCHECK command passes and the process is not root;
#   5. restarts the container and checks that the store survived (same counts), then
#      replaces the container by a new one on the same volume (an upgrade) and checks again;
#   6. moves the listen port by environment (WIREFOLD_HTTP__LISTEN), as an operator would:
#      the HEALTHCHECK follows it, and the served feed links to the address the reader used;
#   7. removes a source from the mounted config and sends SIGHUP (`podman kill -s HUP`): the
#      daemon, PID 1 in the container, applies it without a restart;
#   8. backs the store up from inside (`wirefold backup`), stops the container, backs the
#      stopped store up with the image's `backup --offline`, puts the first backup back with
#      the image's `restore` on the same volume, and checks that the daemon started again
#      serves the backup's store.
#
# Run as root from the repository: bash scripts/container-check.sh
# Needs: podman, runc, debootstrap (installed with apt-get when missing), a Rust toolchain
# under ~/.rustup and ~/.cargo (copied into the local builder image), and access to the Debian
# and crate package registries (apt inside the runtime stage, cargo inside the build stages).
# Base rootfs trees are cached in $WORK (default /var/tmp/wirefold-container); KEEP=1 leaves
# the container and volume behind for a look.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-/var/tmp/wirefold-container}
PORT=${PORT:-18080}
NAME=wirefold-check
VOLUME=wirefold-check-data
IMAGE=localhost/wirefold:check
RUST_TAG=docker.io/library/rust:1.95-bookworm
SLIM_TAG=docker.io/library/debian:bookworm-slim
TOOLCHAIN=${TOOLCHAIN:-stable-x86_64-unknown-linux-gnu}
# Podman as this machine runs it: runc, cgroupfs, low explicit ulimits.
P=(podman --runtime runc --cgroup-manager=cgroupfs)
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

step() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    "${P[@]}" logs --tail 50 "$NAME" >&2 2>/dev/null || true
    exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root (podman as root is what works here)"
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    step "installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
mkdir -p "$WORK"

cleanup() {
    if [ "${KEEP:-0}" != 1 ]; then
        "${P[@]}" rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
        "${P[@]}" volume rm -f "$VOLUME" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
cleanup

step "base image $SLIM_TAG (debootstrap, minbase)"
if ! "${P[@]}" image exists "$SLIM_TAG"; then
    if [ ! -f "$WORK/slim.tar" ]; then
        rm -rf "$WORK/rootfs-slim"
        debootstrap --variant=minbase --include=ca-certificates bookworm "$WORK/rootfs-slim" \
            ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$WORK/debootstrap.log"
        rm -rf "$WORK"/rootfs-slim/var/cache/apt/archives/*.deb \
            "$WORK"/rootfs-slim/var/lib/apt/lists/*
        tar -C "$WORK/rootfs-slim" -cf "$WORK/slim.tar" .
    fi
    "${P[@]}" import --quiet --change 'CMD ["/bin/bash"]' "$WORK/slim.tar" "$SLIM_TAG" >/dev/null
fi

step "builder image $RUST_TAG (the slim rootfs + gcc + the host's Rust toolchain $TOOLCHAIN)"
if ! "${P[@]}" image exists "$RUST_TAG"; then
    src_rustup=${RUSTUP_HOME:-$HOME/.rustup}
    src_cargo=${CARGO_HOME:-$HOME/.cargo}
    [ -d "$src_rustup/toolchains/$TOOLCHAIN" ] || fail "no toolchain $src_rustup/toolchains/$TOOLCHAIN"
    rm -rf "$WORK/rootfs-rust"
    cp -a "$WORK/rootfs-slim" "$WORK/rootfs-rust"
    cp /etc/resolv.conf "$WORK/rootfs-rust/etc/resolv.conf"
    # The builder trusts what this host trusts, so that cargo inside reaches the crate
    # registry through the same TLS setup as cargo on the host.
    cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs-rust/etc/ssl/certs/ca-certificates.crt"
    chroot "$WORK/rootfs-rust" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$WORK/rootfs-rust" \
        apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
    rm -rf "$WORK"/rootfs-rust/var/cache/apt/archives/*.deb "$WORK"/rootfs-rust/var/lib/apt/lists/*
    mkdir -p "$WORK/rootfs-rust/usr/local/rustup/toolchains" "$WORK/rootfs-rust/usr/local/cargo/bin"
    # The toolchain without its HTML docs; rustup's proxies (cargo, rustc, ...) and settings.
    tar -C "$src_rustup/toolchains" --exclude="$TOOLCHAIN/share/doc" -cf - "$TOOLCHAIN" |
        tar -C "$WORK/rootfs-rust/usr/local/rustup/toolchains" -xf -
    printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
        "$TOOLCHAIN" >"$WORK/rootfs-rust/usr/local/rustup/settings.toml"
    cp -a "$src_cargo/bin/rustup" "$WORK/rootfs-rust/usr/local/cargo/bin/"
    for tool in cargo rustc rustdoc; do
        ln -sf rustup "$WORK/rootfs-rust/usr/local/cargo/bin/$tool"
    done
    tar -C "$WORK/rootfs-rust" -cf - . |
        "${P[@]}" import --quiet \
            --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
            --change 'ENV CARGO_HOME=/usr/local/cargo' \
            --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["/bin/bash"]' - "$RUST_TAG" >/dev/null
    rm -rf "$WORK/rootfs-rust"
fi
"${P[@]}" run --rm "${LIMITS[@]}" --network none "$RUST_TAG" cargo --version

step "podman build (the real Dockerfile, every stage)"
start=$(date +%s)
"${P[@]}" build --format docker --pull=never --network host "${LIMITS[@]}" \
    --build-arg RUST_IMAGE="$RUST_TAG" --build-arg RUNTIME_IMAGE="$SLIM_TAG" \
    -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log" >&2; fail "image build (full log: $WORK/build.log)"; }
echo "built $IMAGE in $(($(date +%s) - start))s; size $("${P[@]}" image inspect --format '{{.Size}}' "$IMAGE") bytes"
[ "$("${P[@]}" image inspect --format '{{.Config.User}}' "$IMAGE")" = 10001:10001 ] ||
    fail "the image does not run as user 10001"

step "run with a volume and a mounted config reading examples/feeds"
conf="$WORK/offline.toml"
cat >"$conf" <<'TOML'
[store]
path = "/var/lib/wirefold/store"
[http]
listen = "0.0.0.0:8080"
[schedule]
# Long enough that no source is polled again after a restart (stored next-poll times are
# kept): what /status shows after the restart can only come from the store.
default_interval = "1h"
startup_spread = "1s"
[[sources]]
name = "sample-agency"
url = "/feeds/agency.xml"
[[sources]]
name = "lakeside-news"
url = "/feeds/lakeside-news.xml"
[[sources]]
name = "valley-herald"
url = "/feeds/valley-herald.atom"
TOML
chmod 0644 "$conf"
"${P[@]}" volume create "$VOLUME" >/dev/null
# Runs the image; $1 is the port the daemon listens on inside (default 8080), the rest are
# extra podman arguments.
run_container() {
    local inner=${1:-8080}
    shift || true
    # --health-interval=disable: podman schedules health checks with systemd timers, and
    # there is no systemd here; the check is run by hand below. (podman 4.3 still logs that
    # it cannot reach systemd for the timers: harmless.)
    "${P[@]}" run -d --name "$NAME" "${LIMITS[@]}" --health-interval=disable \
        -p "127.0.0.1:$PORT:$inner" "$@" \
        -v "$VOLUME:/var/lib/wirefold" \
        -v "$conf:/etc/wirefold/wirefold.toml:ro" \
        -v "$PWD/examples/feeds:/feeds:ro" \
        "$IMAGE" >/dev/null
}
run_container

# Waits (at most 60 s) until /status from outside the container satisfies a jq test.
wait_status() {
    local test=$1 what=$2
    for _ in $(seq 1 120); do
        if body=$(curl -fsS --max-time 2 "http://127.0.0.1:$PORT/status" 2>/dev/null) &&
            jq -e "$test" >/dev/null <<<"$body"; then
            return 0
        fi
        sleep 0.5
    done
    fail "timed out waiting for $what"
}
# The counts and each source's last successful poll: a lost store would show other times.
counts() { curl -fsS "http://127.0.0.1:$PORT/status" | jq -c '{counts, last_success: [.sources[].last_success]}'; }

wait_status '.counts.articles > 0 and ([.sources[] | select(.polls > 0)] | length) == 3' \
    "every sample feed polled"
health=$(curl -fsS "http://127.0.0.1:$PORT/healthz")
[ "$health" = ok ] || fail "/healthz answered $health"
echo "GET /healthz from the host: $health"
before=$(counts)
echo "counts before restart: $before"
"${P[@]}" healthcheck run "$NAME" || fail "HEALTHCHECK (wirefold health-check) failed inside"
echo "HEALTHCHECK inside the container: healthy"
uid=$("${P[@]}" exec "$NAME" sh -c 'id -u')
[ "$uid" = 10001 ] || fail "runs as uid $uid"
echo "runs as uid $uid"

step "restart: the store survives"
"${P[@]}" restart -t 20 "$NAME" >/dev/null
wait_status '.uptime_s >= 0' "the restarted daemon"
after=$(counts)
echo "counts after restart:  $after"
[ "$before" = "$after" ] || fail "counts changed across the restart: $before -> $after"
logs=$("${P[@]}" logs "$NAME" 2>&1)
# The stop logs "store flushed", then "bye" as its last step (the snapshot and checkpoint
# come between them).
awk '/store flushed$/ {f = 1} f && /[ :>]bye$/ {ok = 1} END {exit !ok}' <<<"$logs" ||
    fail "no clean shutdown in the logs"
echo "clean shutdown logged (store flushed) before the restart"

step "new container on the same volume (an upgrade)"
"${P[@]}" rm -f -t 20 "$NAME" >/dev/null
run_container
wait_status '.uptime_s >= 0' "the new container"
again=$(counts)
echo "counts in the new container: $again"
[ "$before" = "$again" ] || fail "counts changed with a new container: $before -> $again"

step "the listen port moved by environment"
"${P[@]}" rm -f -t 20 "$NAME" >/dev/null
run_container 9090 -e WIREFOLD_HTTP__LISTEN=0.0.0.0:9090
wait_status '.uptime_s >= 0' "the daemon on port 9090"
"${P[@]}" healthcheck run "$NAME" || fail "HEALTHCHECK does not follow the moved port"
echo "HEALTHCHECK inside the container, daemon on 9090: healthy"
self=$(curl -fsS "http://127.0.0.1:$PORT/feeds/stories.json" | jq -r .feed_url)
[ "$self" = "http://127.0.0.1:$PORT/feeds/stories.json" ] ||
    fail "the served feed links to $self, not to the address it was read from"
echo "the served feed links to $self"

step "SIGHUP to PID 1 reloads the sources"
started=$("${P[@]}" inspect --format '{{.State.StartedAt}}' "$NAME")
# Rewritten in place (same inode), so that the file bind-mounted into the container changes.
head -n -3 "$conf" >"$conf.new" && cat "$conf.new" >"$conf" && rm "$conf.new"
grep -q valley-herald "$conf" && fail "the source was not removed from $conf"
"${P[@]}" kill -s HUP "$NAME" >/dev/null
wait_status '.counts.sources == 2' "the reloaded source list"
[ "$("${P[@]}" inspect --format '{{.State.StartedAt}}' "$NAME")" = "$started" ] ||
    fail "the container was restarted"
"${P[@]}" logs "$NAME" 2>&1 | grep -q "sources reloaded" || fail "no reload in the logs"
echo "reloaded in place: $(curl -fsS "http://127.0.0.1:$PORT/status" | jq -c '[.sources[].name]')"

step "a backup on the volume, put back by the image's restore with the daemon stopped"
"${P[@]}" exec "$NAME" wirefold backup || fail "wirefold backup inside the container"
backup=$("${P[@]}" exec "$NAME" sh -c 'ls -d /var/lib/wirefold/store.backups/wirefold-* | tail -1')
backed_up=$(counts)
"${P[@]}" stop -t 20 "$NAME" >/dev/null
# The stopped container's store, backed up by the image itself (before pulling a new one).
"${P[@]}" run --rm "${LIMITS[@]}" -v "$VOLUME:/var/lib/wirefold" \
    -v "$conf:/etc/wirefold/wirefold.toml:ro" "$IMAGE" backup --offline ||
    fail "the image's backup --offline"
# The newest backup that holds a store, sorted by directory name here: sorted with their
# `/db`, a same-second `wirefold-…Z-002/db` came before `wirefold-…Z/db` (`-` before `/`).
offline=$("${P[@]}" run --rm "${LIMITS[@]}" -v "$VOLUME:/var/lib/wirefold" --entrypoint sh "$IMAGE" \
    -c 'ls -d /var/lib/wirefold/store.backups/wirefold-*/db' | sed 's|/db$||' | LC_ALL=C sort | tail -1)
[ -n "$offline" ] && [ "$offline" != "$backup" ] || fail "no offline backup beside the daemon's ($offline)"
"${P[@]}" run --rm "${LIMITS[@]}" -v "$VOLUME:/var/lib/wirefold" \
    -v "$conf:/etc/wirefold/wirefold.toml:ro" "$IMAGE" restore "$backup" ||
    fail "the image's restore"
"${P[@]}" run --rm "${LIMITS[@]}" -v "$VOLUME:/var/lib/wirefold" --entrypoint sh "$IMAGE" \
    -c 'ls -d /var/lib/wirefold/store.replaced-*' || fail "the replaced store was not kept"
"${P[@]}" start "$NAME" >/dev/null
wait_status '.uptime_s >= 0' "the daemon on the restored store"
restored=$(counts)
echo "counts on the restored store: $restored"
[ "$restored" = "$backed_up" ] || fail "the restored store differs: $backed_up -> $restored"

step "PASS: image built, /healthz from outside, HEALTHCHECK, non-root, store survived restart and replacement, moved port, reload, backup, offline backup and restore"
