#!/usr/bin/env bash
# Makes a minimal Debian root in DIR: `debootstrap --variant=minbase` (what
# the debian:SUITE-slim image holds) from the mirror this machine's apt uses,
# with the same suites (SUITE, SUITE-updates, SUITE-security) in its apt
# sources. Used by cleanroom.sh and docker_check.sh. Needs root.
#
# usage: bootstrap_base.sh DIR [--suite bookworm] [--no-cache]
#
# The finished base (before any package of the project is installed) is kept
# as a tar in $VAE_BASE_CACHE (/var/cache/vae-base) and reused for up to
# $VAE_BASE_MAX_AGE_DAYS (7) days when it came from the same mirror and suite:
# it is then the same minbase a fresh debootstrap gives, except for base
# packages that Debian updated since, and apt upgrades those that a later
# install depends on. --no-cache always bootstraps afresh (CI does).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/debian_sources.sh"

dir="" suite=bookworm use_cache=1
while [ $# -gt 0 ]; do
  case $1 in
    --suite) suite=${2:?--suite needs a name}; shift 2 ;;
    --no-cache) use_cache=0; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bootstrap_base: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
[ -n "$dir" ] || { echo "bootstrap_base: usage: bootstrap_base.sh DIR [--suite S] [--no-cache]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bootstrap_base: needs root (debootstrap, chroot)" >&2; exit 2; }
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "bootstrap_base: $dir is not empty" >&2; exit 2
fi

if ! command -v debootstrap >/dev/null; then
  echo "bootstrap_base: installing debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
mirror=$(debian_mirror "$suite")
if [ -z "$mirror" ]; then
  echo "bootstrap_base: apt on this machine has no source for suite '$suite' (apt-get indextargets)" >&2
  exit 2
fi
arch=$(dpkg --print-architecture)
cache_dir=${VAE_BASE_CACHE:-/var/cache/vae-base}
cache="$cache_dir/$suite-minbase-$arch.tar"
stamp="$mirror $suite $arch minbase"
max_age=${VAE_BASE_MAX_AGE_DAYS:-7}

mkdir -p "$dir"
if [ $use_cache = 1 ] && [ -f "$cache" ] && [ "$(cat "$cache.source" 2>/dev/null)" = "$stamp" ] &&
   [ -n "$(find "$cache" -mtime -"$max_age")" ]; then
  echo "bootstrap_base: $suite minbase from the cache ($cache, $(( ($(date +%s) - $(stat -c %Y "$cache")) / 3600 )) h old)"
  tar -C "$dir" -xpf "$cache"
else
  echo "bootstrap_base: debootstrap --variant=minbase $suite from $mirror"
  log=$(mktemp)
  rc=0
  debootstrap --variant=minbase --arch="$arch" "$suite" "$dir" "$mirror" >"$log" 2>&1 || rc=$?
  # debootstrap mounts proc/sys inside the target while it works.
  unmount_under "$dir"
  if [ $rc -ne 0 ]; then
    tail -n 20 "$log" >&2
    echo "bootstrap_base: debootstrap failed (log above; full log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
  rm -rf "$dir/var/cache/apt/archives/"*.deb
  if [ $use_cache = 1 ]; then
    mkdir -p "$cache_dir"
    tar -C "$dir" -cpf "$cache.tmp" . && mv "$cache.tmp" "$cache" && echo "$stamp" >"$cache.source"
  fi
fi
# The same archive the machine uses, in deb822 form; no other source. A proxy
# that apt here is configured with is needed there too.
rm -f "$dir/etc/apt/sources.list"
debian_sources "$suite" >"$dir/etc/apt/sources.list.d/debian.sources"
proxy=$(apt-config dump | grep -E '^Acquire::[a-z]+::Proxy ' || true)
if [ -n "$proxy" ]; then echo "$proxy" >"$dir/etc/apt/apt.conf.d/01proxy"; fi
