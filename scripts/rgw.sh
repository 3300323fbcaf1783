#!/usr/bin/env bash
# A real S3 server for the tests and the demo: Ceph RADOS Gateway from Debian's packages, with one
# monitor and one in-memory OSD, on loopback only.
#
#   scripts/rgw.sh start    install Ceph if missing, start (or reuse) the cluster, print the env lines
#   scripts/rgw.sh env      print the export lines of the running cluster
#   scripts/rgw.sh status   exit 0 when it is running
#   scripts/rgw.sh stop     stop the daemons by their recorded PIDs and delete the state
#
# `eval "$(scripts/rgw.sh start)"` exports S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID,
# S3_SECRET_ACCESS_KEY and S3_BUCKET. Progress goes to stderr. Server-side encryption works over its
# plain http: SSE-C, and aws:kms with the key id "testkey-1" (docs/SSE.md).
#
# Settings (environment): BUCKETSEAL_RGW_DIR (state; default /tmp/bucketseal-rgw),
# BUCKETSEAL_RGW_PORT (S3; default 7480), BUCKETSEAL_RGW_MON_PORT (default 7479),
# BUCKETSEAL_RGW_MEMSTORE_BYTES (the OSD's RAM-backed capacity; default 8 GiB, used only as written).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${BUCKETSEAL_RGW_DIR:-/tmp/bucketseal-rgw}"
S3_PORT="${BUCKETSEAL_RGW_PORT:-7480}"
MON_PORT="${BUCKETSEAL_RGW_MON_PORT:-7479}"
MEMSTORE_BYTES="${BUCKETSEAL_RGW_MEMSTORE_BYTES:-8589934592}"
# Fixed test credentials: this server only ever listens on loopback and holds throwaway data.
ACCESS_KEY_ID="BUCKETSEALTESTKEY000"
SECRET_ACCESS_KEY="bucketseal-test-secret-key-not-for-production"
REGION="us-east-1"
BUCKET="bucketseal-test"
# A fixed 32-byte test key (base64) for RGW's aws:kms "testing" backend: public, loopback-only, throwaway.
KMS_TEST_KEY="YnVja2V0c2VhbC1yZ3cta21zLXRlc3RrZXktMS0zMmI="
DAEMONS=(rgw osd mon) # stop order
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common)

say() { printf 'rgw: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

# True when the PID recorded for a daemon is a live process of that daemon (not a reused PID).
alive() {
  local pidfile="$DIR/pids/$1" pid state
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -r "/proc/$pid/stat" ] || return 1
  # A killed daemon whose parent has not reaped it yet is a zombie: it counts as gone.
  state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || echo X)"
  [ "$state" != Z ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$(binary_of "$1")"
}

binary_of() {
  case "$1" in
    mon) echo ceph-mon ;;
    osd) echo ceph-osd ;;
    rgw) echo radosgw ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() {
  local d
  for d in "${DAEMONS[@]}"; do alive "$d" || return 1; done
  [ -f "$DIR/env" ] && port_open "$(cat "$DIR/port")"
}

print_env() { cat "$DIR/env"; }

stop_daemons() {
  local d pid i
  for d in "${DAEMONS[@]}"; do
    alive "$d" || continue
    pid="$(cat "$DIR/pids/$d")"
    # The OSD gets SIGKILL: on a clean shutdown memstore writes every stored object to disk, which
    # is slow and pointless for data we are about to delete.
    if [ "$d" = osd ]; then kill -KILL "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    for i in $(seq 50); do
      alive "$d" || break
      sleep 0.1
    done
    if alive "$d"; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    if alive "$d"; then
      say "could not stop $d (pid $pid)"
      return 1
    fi
  done
}

install_ceph() {
  local missing=0 bin
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool; do
    command -v "$bin" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" -eq 1 ] || return 0
  say "installing Ceph (${PACKAGES[*]}) from Debian's packages"
  local root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "Ceph is not installed, and installing it needs root or sudo"
    root=(sudo)
  fi
  "${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || fail "apt-get update failed"
  "${root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2 ||
    fail "installing ${PACKAGES[*]} failed"
}

# Prints the last lines of every log, for a start that failed.
dump_logs() {
  local f
  for f in "$DIR"/log/*; do
    [ -s "$f" ] || continue
    echo "----- $f" >&2
    tail -n 15 "$f" >&2
  done
}

fail() {
  say "error: $*"
  dump_logs
  stop_daemons || true
  exit 1
}

# Starts a daemon in the foreground mode (-f) as a background process in its own session (so a
# Ctrl-C meant for the caller does not reach it), and records its PID.
launch() {
  local name="$1"
  shift
  (
    # Every inherited descriptor above stderr is closed, not only our own lock on fd 9: a daemon
    # that kept one would hold its lock for as long as it runs, and a caller that serialises its
    # runs with `flock FILE scripts/test.sh` would then wait forever on its own RGW.
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1
  ) &
  echo $! >"$DIR/pids/$name"
}

wait_for() {
  local what="$1" tries="$2" i
  shift 2
  for i in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what"
}

osd_up() { ceph -c "$DIR/ceph.conf" --connect-timeout 5 osd stat 2>/dev/null | grep -q '1 up'; }

# Prints the configuration for the cluster with this fsid.
conf_text() {
  local fsid="$1"
  cat <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
# No cephx: the cluster is private to this machine's loopback. radosgw then also needs the crc mode
# offered to the monitor, or it retries for ever.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
keyring = /dev/null
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
pid file =
# One OSD: pools of size 1, placement across OSDs rather than hosts, few placement groups (the
# default 32 per pool would pass the 250-per-OSD limit after RGW's seven pools).
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
# Commits every 0.1 s instead of 1 s: start-up falls from about 13 s to about 3 s.
paxos propose interval = 0.1
# The monitor refuses to run on a disk under 5% free by default; its store here is a few MB.
mon data avail crit = 1
mon data avail warn = 2

[mon]
mon data = $DIR/mon

[osd]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$S3_PORT tcp_nodelay=1
rgw thread pool size = 64
# Deleted and overwritten data lives in RAM until garbage-collected: collect after a minute, not 2 h.
rgw gc obj min wait = 60
rgw gc processor period = 60
# Server-side encryption, for the tests of @bucketseal/server's serverSideEncryption option (see
# docs/SSE.md). Fixed, public test keys: never use these settings outside this loopback server.
# SSE headers over plain http: RGW refuses them otherwise (it serves http only, on loopback).
rgw crypt require ssl = false
# aws:kms with the key id testkey-1, served from this list instead of a real KMS.
rgw crypt s3 kms backend = testing
rgw crypt s3 kms encryption keys = testkey-1=$KMS_TEST_KEY
# Deliberately NOT set: "rgw crypt default encryption key". On Ceph 16 it encrypts every object
# written without SSE headers, and RGW then answers 501 NotImplemented to any CopyObject of an
# encrypted object, so server-side copies (sharing and rotation rewrite metadata with them) would
# fail for every object. docs/SSE.md has the details.
EOF
}

start() {
  if running; then
    say "already running ($DIR), reusing it"
    # A cluster started by an older version of this script lacks settings that tests rely on (such
    # as server-side encryption): say so rather than restart a server others may be using.
    if ! conf_text "$(sed -n 's/^fsid = //p' "$DIR/ceph.conf")" | cmp -s - "$DIR/ceph.conf"; then
      say "warning: it was started with other settings than this script writes; to apply them: $0 stop && $0 start"
    fi
    print_env
    return 0
  fi
  install_ceph
  local t0 fsid osd_uuid
  t0="$(now_ms)"
  stop_daemons || exit 1
  rm -rf "$DIR"
  mkdir -p "$DIR"/{mon,osd,run,log,pids}
  port_open "$S3_PORT" && fail "port $S3_PORT is taken: set BUCKETSEAL_RGW_PORT"
  port_open "$MON_PORT" && fail "port $MON_PORT is taken: set BUCKETSEAL_RGW_MON_PORT"
  echo "$S3_PORT" >"$DIR/port"
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  osd_uuid="$(cat /proc/sys/kernel/random/uuid)"
  conf_text "$fsid" >"$DIR/ceph.conf"
  local conf=(-c "$DIR/ceph.conf")

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null || fail "monmaptool failed"
  ceph-mon "${conf[@]}" --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/mkfs.out" 2>&1 || fail "ceph-mon --mkfs failed"
  launch mon ceph-mon "${conf[@]}" -i a -f
  timeout 30 ceph "${conf[@]}" --connect-timeout 20 osd new "$osd_uuid" >/dev/null 2>>"$DIR/log/mkfs.out" || fail "the monitor did not answer"
  timeout 30 ceph-osd "${conf[@]}" -i 0 --mkfs --osd-uuid "$osd_uuid" >>"$DIR/log/mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
  launch osd ceph-osd "${conf[@]}" -i 0 -f
  wait_for "the OSD did not come up" 300 osd_up
  # The user is made before radosgw starts: radosgw-admin then sets up the default zone alone,
  # without racing radosgw for it.
  timeout 60 radosgw-admin "${conf[@]}" user create --uid=bucketseal --display-name=Bucketseal \
    --access-key="$ACCESS_KEY_ID" --secret-key="$SECRET_ACCESS_KEY" >/dev/null 2>>"$DIR/log/mkfs.out" || fail "radosgw-admin user create failed"
  launch rgw radosgw "${conf[@]}" -n client.rgw -f
  wait_for "radosgw did not open port $S3_PORT" 300 port_open "$S3_PORT"

  cat >"$DIR/env" <<EOF
export S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export S3_REGION=$REGION
export S3_ACCESS_KEY_ID=$ACCESS_KEY_ID
export S3_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY
export S3_BUCKET=$BUCKET
EOF
  (
    # shellcheck disable=SC1091
    . "$DIR/env"
    node "$ROOT/scripts/rgw/bucket.mjs"
  ) >>"$DIR/log/bucket.out" 2>&1 || fail "creating the bucket and its CORS rules failed"
  say "started in $(($(now_ms) - t0)) ms: S3 at http://127.0.0.1:$S3_PORT, bucket $BUCKET, state in $DIR"
  print_env
}

stop() {
  stop_daemons || exit 1
  rm -rf "$DIR"
  say "stopped"
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    start | stop | env | status) ;;
    *)
      echo "usage: $0 start|stop|env|status" >&2
      exit 2
      ;;
  esac
  # One start or stop at a time per state directory (several shells may share one cluster). The
  # lock file sits beside the directory, which stop deletes.
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock 9
  case "$cmd" in
    start) start ;;
    stop) stop ;;
    env)
      running || {
        say "not running (start it with: $0 start)"
        exit 1
      }
      print_env
      ;;
    status) running ;;
  esac
}

main "$@"
