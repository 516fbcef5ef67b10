#!/usr/bin/env bash
# Runs systemd/wirefold.service under a real systemd, inside a podman container (this machine
# has no systemd as PID 1), and checks what the unit promises:
#
#   - Type=notify: `systemctl start` returns once READY=1 arrived; STATUS= is shown;
#   - DynamicUser + StateDirectory: the store lives in /var/lib/private/wirefold, owned by a
#     transient user; the hardening is accepted by systemd (the service runs with it);
#   - journald: wirefold's warnings arrive with priority 4 (the `<4>` prefix), infos with 6;
#   - Restart=on-failure: after a SIGKILL the service comes back with its store;
#   - reload: SIGHUP from systemd applies an edited source list in the same process. Sent
#     with `systemctl kill -s HUP`: ExecReload's own kill cannot run here, because a control
#     process cannot join the unit's namespaces inside this container ("Failed to set up mount
#     namespacing: Operation not supported", status 226/NAMESPACE);
#   - a refused reload (an unknown key): the process runs on, and every line of the logged
#     error, the problems after the first line included, is an error (`-p err`) in the journal;
#   - a clean stop: `systemctl stop` ends with the store flushed and Result=success;
#   - `wirefold restore` run as root with the service stopped: the restored store keeps the
#     dynamic user's ownership, and the service starts on it with the backup's articles;
#   - `wirefold backup --offline` run as root with the service stopped: the backups belong to
#     the dynamic user, whose own backup then prunes them;
#   - `systemd-analyze security` (online this time) rates it at most 2.0.
#
# Run as root from the repository after `cargo build` (or set WIREFOLD_BIN):
#   bash scripts/systemd-check.sh
# Needs podman, runc, debootstrap (installed when missing) and Debian's package registry
# (systemd is installed into a debootstrapped rootfs). About a minute; KEEP=1 leaves the
# container running for a look.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-/var/tmp/wirefold-container}
BIN=${WIREFOLD_BIN:-$PWD/target/debug/wirefold}
NAME=wirefold-systemd-check
BASE=localhost/wirefold-systemd-base:check
P=(podman --runtime runc --cgroup-manager=cgroupfs)
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

step() { printf '\n== %s\n' "$*"; }
in_ct() { "${P[@]}" exec "$NAME" sh -c "$*"; }
fail() {
    printf 'FAIL: %s\n' "$*" >&2
    in_ct 'journalctl -u wirefold --no-pager | tail -30' >&2 2>/dev/null || true
    exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root"
[ -x "$BIN" ] || fail "no binary at $BIN: run cargo build first"
need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
mkdir -p "$WORK"
cleanup() {
    [ "${KEEP:-0}" = 1 ] || "${P[@]}" rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

step "base image with systemd ($BASE)"
if ! "${P[@]}" image exists "$BASE"; then
    root="$WORK/rootfs-systemd"
    rm -rf "$root"
    debootstrap --variant=minbase --include=ca-certificates,systemd,systemd-sysv,dbus,curl bookworm "$root" \
        ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} >"$WORK/debootstrap-systemd.log"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf - . | "${P[@]}" import --quiet --change 'CMD ["/sbin/init"]' - "$BASE" >/dev/null
    rm -rf "$root"
fi

step "boot systemd in a container; install the binary, the unit, a config and the sample feeds"
"${P[@]}" run -d --name "$NAME" --systemd=always "${LIMITS[@]}" \
    -v "$BIN:/usr/local/bin/wirefold:ro" "$BASE" /sbin/init >/dev/null
for _ in $(seq 1 60); do
    state=$(in_ct 'systemctl is-system-running' 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.5
done
echo "systemd: $state"
"${P[@]}" cp systemd/wirefold.service "$NAME:/etc/systemd/system/wirefold.service"
in_ct 'mkdir -p /srv/feeds /etc/wirefold'
"${P[@]}" cp examples/feeds/. "$NAME:/srv/feeds/"
"${P[@]}" exec -i "$NAME" sh -c 'cat > /etc/wirefold/wirefold.toml' <<'TOML'
[schedule]
default_interval = "1m"
startup_spread = "1s"
[[sources]]
name = "sample-agency"
url = "/srv/feeds/agency.xml"
[[sources]]
name = "lakeside-news"
url = "/srv/feeds/lakeside-news.xml"
[[sources]]
name = "valley-herald"
url = "/srv/feeds/valley-herald.atom"
[[sources]]
name = "missing"
url = "/srv/feeds/missing.xml"
TOML
in_ct 'chmod -R a+rX /srv/feeds /etc/wirefold && systemctl daemon-reload'
# The secrets file: root's alone, read by systemd (EnvironmentFile=) before it drops to the
# dynamic user, who could not read it.
TOKEN=check-token-0123456789abcdef
in_ct "umask 077 && echo WIREFOLD_HTTP__TOKEN=$TOKEN > /etc/wirefold/secrets.env"
api() { in_ct "curl -fsS -H 'Authorization: Bearer $TOKEN' 127.0.0.1:8080$1"; }

step "start (Type=notify: returns after READY=1)"
in_ct 'systemctl start wirefold' || fail "systemctl start"
show() { in_ct "systemctl show wirefold -p $1 --value"; }
[ "$(show ActiveState)/$(show SubState)" = active/running ] || fail "not running"
[ "$(show Type)" = notify ] || fail "not Type=notify"
status=$(show StatusText)
echo "StatusText: $status"
case $status in *" sources ("*" articles in "*) ;; *) fail "no STATUS= line" ;; esac
echo "WatchdogUSec: $(show WatchdogUSec)"
# /status's counts once they hold $1 (or the last ones after $2 tries half a second apart).
counts_with() {
    local c=""
    for _ in $(seq 1 "$2"); do
        c=$(api /status 2>/dev/null | grep -o '"counts":{[^}]*}' || true)
        case $c in *"$1"*) break ;; esac
        sleep 0.5
    done
    echo "$c"
}
counts=$(counts_with '"articles":5' 60)
echo "counts: $counts"
case $counts in *'"articles":5'*) ;; *) fail "sample feeds not stored" ;; esac
code=$(in_ct 'curl -s -o /dev/null -w %{http_code} 127.0.0.1:8080/status')
echo "/status without the token from secrets.env: $code"
[ "$code" = 401 ] || fail "the token in the EnvironmentFile is not in force"
echo "secrets.env: $(in_ct 'stat -c %U:%a /etc/wirefold/secrets.env')"
owner=$(in_ct 'stat -c %U:%a /var/lib/private/wirefold/store')
echo "store owner:mode: $owner (DynamicUser)"
in_ct 'test -L /var/lib/wirefold' || fail "StateDirectory is not the DynamicUser layout"

step "journald priorities"
for _ in $(seq 1 20); do
    in_ct 'journalctl -u wirefold -p warning --no-pager -q | grep -q "poll failed"' && break
    sleep 0.5
done
in_ct 'journalctl -u wirefold -p warning --no-pager -q' | grep "poll failed" |
    head -1 || fail "the failing source's warning is not a journal warning"
in_ct 'journalctl -u wirefold -p info --no-pager -q | grep -q "wirefold ready"' || fail "no info lines"

step "Restart=on-failure after SIGKILL"
old_pid=$(show MainPID)
in_ct "kill -KILL $old_pid"
for _ in $(seq 1 40); do
    pid=$(show MainPID)
    [ "$(show NRestarts)" -ge 1 ] && [ "$pid" != 0 ] && [ "$pid" != "$old_pid" ] &&
        [ "$(show ActiveState)" = active ] && break
    sleep 0.5
done
[ "$(show NRestarts)" -ge 1 ] || fail "not restarted"
again=$(api /status | grep -o '"counts":{[^}]*}')
echo "restarted (NRestarts=$(show NRestarts)); counts: $again"
[ "$again" = "$counts" ] || fail "store changed across the restart"

step "reload: a source removed from the file"
pid=$(show MainPID)
in_ct 'head -n -3 /etc/wirefold/wirefold.toml > /tmp/w.toml && cat /tmp/w.toml > /etc/wirefold/wirefold.toml'
in_ct 'grep -q missing /etc/wirefold/wirefold.toml' && fail "the source was not removed from the file"
in_ct 'systemctl kill --kill-whom=main -s HUP wirefold' || fail "systemctl kill -s HUP"
for _ in $(seq 1 20); do
    sources=$(api /status 2>/dev/null | grep -o '"sources":[0-9]*' | head -1 || true)
    [ "$sources" = '"sources":3' ] && break
    sleep 0.5
done
[ "$sources" = '"sources":3' ] || fail "reload did not apply the sources ($sources)"
[ "$(show MainPID)" = "$pid" ] || fail "the reload restarted the process"
in_ct 'journalctl -u wirefold --no-pager -q | grep -q "sources reloaded"' || fail "no reload in the journal"
echo "reloaded in place (MainPID $pid): $sources"

step "a refused reload: every line of it is an error in the journal"
in_ct 'echo "colour = \"blue\"" >> /etc/wirefold/wirefold.toml'
in_ct 'systemctl kill --kill-whom=main -s HUP wirefold' || fail "systemctl kill -s HUP"
for _ in $(seq 1 20); do
    in_ct 'journalctl -u wirefold -p err --no-pager -q | grep -q "unknown key"' && break
    sleep 0.5
done
# The problems follow the message on lines of their own: each must carry the error priority.
in_ct 'journalctl -u wirefold -p err --no-pager -q' | grep "unknown key" ||
    fail "the refused reload's problem is not an error in the journal"
[ "$(show MainPID)" = "$pid" ] || fail "the refused reload stopped the process"
in_ct 'head -n -1 /etc/wirefold/wirefold.toml > /tmp/w.toml && cat /tmp/w.toml > /etc/wirefold/wirefold.toml'

step "an online backup, written by the dynamic user beside the store"
backup=$(in_ct "curl -fsS -X POST -H 'Authorization: Bearer $TOKEN' 127.0.0.1:8080/store/backup") ||
    fail "POST /store/backup"
echo "backup: $backup"
in_ct 'ls -d /var/lib/private/wirefold/store.backups/wirefold-*/db' || fail "no backup beside the store"
[ "$(show MainPID)" = "$pid" ] || fail "the backup restarted the process"
api /status | grep -q '"writable":true' || fail "the store is not writable after the backup"

step "systemd-analyze security (online)"
in_ct 'systemd-analyze security --threshold=20 wirefold.service | tail -1' || fail "exposure above 2.0"

step "clean stop"
in_ct 'systemctl stop wirefold'
[ "$(show Result)" = success ] || fail "stop result $(show Result)"
# The stop logs "store flushed", then "bye" as its last step (the snapshot and checkpoint
# come between them).
in_ct 'journalctl -u wirefold --no-pager -q' |
    awk '/store flushed$/ {f = 1} f && /[ :>]bye$/ {ok = 1} END {exit !ok}' || fail "no clean shutdown"
echo "stopped: Result=success, store flushed"

step "wirefold restore as root, the service stopped: the store is the dynamic user's again"
backup_dir=$(in_ct 'ls -d /var/lib/private/wirefold/store.backups/wirefold-* | tail -1')
in_ct "WIREFOLD_STORE__PATH=/var/lib/private/wirefold/store wirefold restore --config /etc/wirefold/wirefold.toml $backup_dir" ||
    fail "wirefold restore"
in_ct 'ls -d /var/lib/private/wirefold/store.replaced-*' || fail "the replaced store was not kept aside"
uid=$(in_ct 'stat -c %u:%g /var/lib/private/wirefold/store.replaced-*')
foreign=$(in_ct "find /var/lib/private/wirefold/store ! -user ${uid%:*} -o ! -group ${uid#*:}" | head -3)
[ -z "$foreign" ] || fail "restored files not owned by the service's user ($uid): $foreign"
in_ct 'systemctl start wirefold' || fail "start after the restore"
# The backup was taken with every sample article stored (the source list has one fewer now).
articles=$(echo "$counts" | grep -o '"articles":[0-9]*')
restored=$(counts_with "$articles," 20)
echo "restored from $backup_dir (owner $uid); counts: $restored"
case $restored in *"$articles,"*) ;; *) fail "the restored store does not hold the backup's $articles" ;; esac
sleep 2
api /status | grep -q '"writable":true' || fail "the restored store is not writable"
in_ct 'systemctl stop wirefold'

step "wirefold backup --offline as root, the service stopped: the service can prune it"
for _ in 1 2 3; do
    in_ct "WIREFOLD_STORE__PATH=/var/lib/private/wirefold/store wirefold backup --offline --config /etc/wirefold/wirefold.toml" ||
        fail "wirefold backup --offline"
done
foreign=$(in_ct "find /var/lib/private/wirefold/store.backups ! -user ${uid%:*} -o ! -group ${uid#*:}" | head -3)
[ -z "$foreign" ] || fail "offline backups not owned by the service's user ($uid): $foreign"
in_ct 'systemctl start wirefold' || fail "start after the offline backups"
# Four backups now: the service's own prunes the oldest offline one, written by root.
in_ct "curl -fsS -X POST -H 'Authorization: Bearer $TOKEN' 127.0.0.1:8080/store/backup" ||
    fail "the service's backup (and its pruning) failed beside the offline backups"
echo
kept=$(in_ct 'ls -d /var/lib/private/wirefold/store.backups/wirefold-* | wc -l')
echo "backups kept: $kept"
[ "$kept" = 3 ] || fail "$kept backups kept, not backups_kept = 3"
in_ct 'systemctl stop wirefold'

step "PASS: notify start, status, secrets from EnvironmentFile, DynamicUser store, journal priorities, restart on failure, reload, refused reload, online backup, clean stop, restore, offline backup"
