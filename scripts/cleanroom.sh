#!/usr/bin/env bash
# Proves the README's commands on a machine that has nothing installed by
# hand: bootstraps a minimal Debian root (scripts/bootstrap_base.sh: minbase,
# what debian:bookworm-slim holds, from this machine's own mirror), copies a
# clean clone of the repository and ../shared into it, and runs each COMMAND
# there with chroot, in the repository, with an empty environment (no LANG,
# as in a slim container). proc, sys and dev are mounted for the commands and
# always unmounted again, on success, failure or Ctrl-C; the root is deleted
# only when nothing is mounted below it.
#
# usage: cleanroom.sh [options] [COMMAND ...]
#   COMMAND       a shell command line; default: the README's two commands,
#                 'bash scripts/test.sh' then 'bash scripts/quickstart.sh'
#   --worktree    copy the working tree's files (tracked and untracked, not
#                 ignored) instead of a clone of HEAD: tries uncommitted work
#   --no-cache    bootstrap afresh instead of reusing a cached base
#   --keep        keep the root afterwards (it is still unmounted)
#   --verbose     print everything, not only phase and test-summary lines
#   --suite NAME  Debian suite (default bookworm)
#
# Prints each phase's time (bootstrap, then every command's own phases) and
# exits non-zero on the first failing command, with its last lines. The full
# output goes to a log file whose path it prints. Needs root and the package
# archive, nothing else.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib/phase.sh"
source "$repo/scripts/lib/debian_sources.sh"

worktree=0 keep=0 verbose=0 suite=bookworm bootstrap_flags=() commands=()
while [ $# -gt 0 ]; do
  case $1 in
    --worktree) worktree=1 ;;
    --no-cache) bootstrap_flags+=(--no-cache) ;;
    --keep) keep=1 ;;
    --verbose) verbose=1 ;;
    --suite) suite=${2:?--suite needs a name}; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "cleanroom: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) commands+=("$1") ;;
  esac
  shift
done
[ ${#commands[@]} -gt 0 ] || commands=("bash scripts/test.sh" "bash scripts/quickstart.sh")
[ "$(id -u)" -eq 0 ] || { echo "cleanroom: needs root (debootstrap, mount, chroot)" >&2; exit 2; }
shared=${VAE_SHARED_DIR:-$repo/../shared}
[ -d "$shared" ] || { echo "cleanroom: no shared folder at $shared (set VAE_SHARED_DIR)" >&2; exit 2; }

work=$(realpath "$(mktemp -d "${TMPDIR:-/var/tmp}/vae-cleanroom.XXXXXX")")
root=$work/root
log=$work.log
: >"$log"
running="" # the command logged() waits for, killed with its children on exit

# --- cleanup: on every exit path --------------------------------------------
# Processes still running inside the root would keep its mounts busy.
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -9 "$1" 2>/dev/null || true
}
kill_inside() {
  local pid link
  for pid in /proc/[0-9]*; do
    link=$(readlink "$pid/root" 2>/dev/null) || continue
    if [ "$link" = "$root" ]; then kill -9 "${pid#/proc/}" 2>/dev/null || true; fi
  done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$running" ]; then kill_tree "$running"; fi
  kill_inside
  if ! unmount_under "$root"; then
    echo "cleanroom: still mounted under $root, NOT deleting it:" >&2
    mounts_under "$root" >&2
    exit 1
  fi
  if [ $keep = 1 ]; then
    echo "cleanroom: root kept at $root (nothing mounted)"
  else
    # --one-file-system: never follows into a file system mounted below.
    rm -rf --one-file-system "$work"
  fi
  echo "cleanroom: log $log"
  exit $rc
}
trap cleanup EXIT
trap 'echo "cleanroom: interrupted" >&2; exit 130' INT
trap 'echo "cleanroom: terminated" >&2; exit 143' TERM

# --- running with the output in the log -------------------------------------
summary_lines='^==> |^cleanroom: |^bootstrap_base: |^setup: |tests passed|tests failed out of|Total Test time|The following tests FAILED|\*\*\*Failed|  Failed  |Timeout'
# logged CMD...: runs CMD with all its output in the log; the terminal gets
# the summary lines (everything with --verbose). Returns CMD's status. CMD
# runs in the background and is waited for, so that a signal reaches this
# script's traps at once instead of after CMD ends.
logged() {
  if [ $verbose = 1 ]; then
    "$@" > >(tee -a "$log") 2>&1 &
  else
    "$@" > >(tee -a "$log" | { grep --line-buffered -E "$summary_lines" || true; }) 2>&1 &
  fi
  running=$!
  local rc=0
  wait "$running" || rc=$?
  running=""
  return $rc
}
failed() {
  sleep 0.5 # the log's writer may still be flushing
  echo "cleanroom: FAILED: $1; its last lines:" >&2
  tail -n "${CLEANROOM_TAIL:-40}" "$log" | sed 's/^/  | /' >&2
  exit 1
}

# --- the root ---------------------------------------------------------------
mount_all() {
  mount -t proc proc "$root/proc"
  mount -t sysfs -o ro sysfs "$root/sys"
  # A fresh tmpfs with its own device nodes rather than a bind of the host's
  # /dev: nothing done inside (or a slip in deleting the root) can reach it.
  mount -t tmpfs -o mode=755,nosuid dev "$root/dev"
  local spec name type major minor
  for spec in null:c:1:3 zero:c:1:5 full:c:1:7 random:c:1:8 urandom:c:1:9 tty:c:5:0; do
    IFS=: read -r name type major minor <<<"$spec"
    mknod -m 666 "$root/dev/$name" "$type" "$major" "$minor"
  done
  mkdir -m 1777 "$root/dev/shm"
  mkdir "$root/dev/pts"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts"
  ln -s pts/ptmx "$root/dev/ptmx"
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  cp /etc/hosts "$root/etc/hosts"
}

copy_sources() {
  mkdir -p "$root/work"
  if [ $worktree = 1 ]; then
    mkdir "$root/work/vae"
    (cd "$repo" && git ls-files -z -c -o --exclude-standard |
      while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
      tar --null -T - -cf -) | tar -C "$root/work/vae" -xf -
    echo "cleanroom: working tree of $repo ($(git -C "$repo" rev-parse --short HEAD) with local changes)"
  else
    git clone --quiet --no-hardlinks "$repo" "$root/work/vae"
    echo "cleanroom: clone of $repo at $(git -C "$root/work/vae" rev-parse --short HEAD)"
  fi
  cp -a "$shared" "$root/work/shared"
}

# in_root COMMAND: a login-less shell in the repository inside the root. The
# environment is empty but for PATH, HOME and CI, and the OpenBLAS core
# settings this machine may need (see the tool's notes on OPENBLAS_CORETYPE).
in_root() {
  local env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
             TERM=dumb DEBIAN_FRONTEND=noninteractive CI="${CI:-}")
  local v
  for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
    if [ -n "${!v:-}" ]; then env+=("$v=${!v}"); fi
  done
  chroot "$root" /usr/bin/env -i "${env[@]}" /bin/bash -c "cd /work/vae && $1"
}

echo "cleanroom: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores; root $root"
phase bootstrap logged bash "$repo/scripts/bootstrap_base.sh" "$root" --suite "$suite" \
  "${bootstrap_flags[@]}" || failed "bootstrap ($suite minbase)"
copy_sources
mount_all
for cmd in "${commands[@]}"; do
  phase "$cmd" logged in_root "$cmd" || failed "$cmd"
done
phase_summary "cleanroom: phases"
