#!/usr/bin/env bash
# Builds the Dockerfile for real with podman and trains one epoch inside the
# image on MNIST mounted read-only: proves the image, not only the Dockerfile.
#
# usage: docker_check.sh [--tag NAME] [--base IMAGE] [--keep]
#   --tag NAME    the image's name (default localhost/vae:check)
#   --base IMAGE  the bookworm image to build on; by default one made here
#                 with debootstrap (scripts/bootstrap_base.sh, minbase: what
#                 debian:bookworm-slim holds) and imported as
#                 localhost/vae-base:bookworm, so that no registry is needed
#   --keep        keep the image (default: removed after the check)
# MNIST comes from $MNIST_DIR, else ../shared/data/mnist.
#
# Runtime settings go on the command line, never into containers.conf: where
# podman's defaults cannot start a container (some VMs refuse its open-file and
# process limits; crun refuses cgroups in hybrid mode), runc and lower limits
# are tried in turn and the ones that work are said. Needs root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/scripts/lib/phase.sh"
source "$repo/scripts/lib/debian_sources.sh"

tag=localhost/vae:check base="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=${2:?--tag needs a name}; shift ;;
    --base) base=${2:?--base needs an image}; shift ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker_check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "docker_check: needs root (podman, debootstrap)" >&2; exit 2; }
mnist=$(realpath "${MNIST_DIR:-$repo/../shared/data/mnist}")
[ -e "$mnist/train-images-idx3-ubyte.gz" ] || [ -e "$mnist/train-images-idx3-ubyte" ] ||
  { echo "docker_check: no MNIST in $mnist (set MNIST_DIR)" >&2; exit 2; }

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
if [ ${#need[@]} -gt 0 ]; then
  echo "docker_check: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(realpath "$(mktemp -d "${TMPDIR:-/var/tmp}/vae-docker.XXXXXX")")
cleanup() {
  local rc=$?
  if unmount_under "$work"; then rm -rf --one-file-system "$work"; fi
  if [ $keep = 0 ]; then podman image rm -f "$tag" >/dev/null 2>&1 || true; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make_base() {
  local old
  old=$(podman image inspect --format '{{.Id}}' "$base" 2>/dev/null || true)
  bash "$repo/scripts/bootstrap_base.sh" "$work/base" &&
    tar -C "$work/base" -c . | podman import -q - "$base" >/dev/null &&
    rm -rf --one-file-system "$work/base" || return 1
  # The previous import, unless cached layers of an earlier build still use it.
  if [ -n "$old" ]; then podman image rm "$old" >/dev/null 2>&1 || true; fi
}
if [ -z "$base" ]; then
  # Made again when older than bootstrap_base.sh's cache may be (7 days): a
  # new import is a new image, and the build then starts from nothing.
  base=localhost/vae-base:bookworm
  created=$(podman image inspect --format '{{.Created.Unix}}' "$base" 2>/dev/null || echo 0)
  if [ $(($(date +%s) - created)) -gt $((${VAE_BASE_MAX_AGE_DAYS:-7} * 86400)) ]; then
    phase base make_base
  else
    echo "docker_check: base image $base ($(( ($(date +%s) - created) / 3600 )) h old)"
  fi
fi

# A runtime and limits that start a container here: podman's own defaults
# first, then runc, and open-file/process limits from this machine's hard
# limits down to smaller ones (some VMs refuse to set even the hard limit in
# the container's init; seen here: nproc 96363 refused, 32768 taken).
podman_flags=() run_flags=() found=0
for nproc in "" "$(ulimit -Hu)" 32768 4096; do
  for runtime in "" runc; do
    flags=() limits=()
    if [ -n "$runtime" ]; then flags=(--runtime "$runtime"); fi
    if [ -n "$nproc" ]; then
      limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)")
      if [ "$nproc" != unlimited ]; then limits+=(--ulimit "nproc=$nproc:$nproc"); fi
    fi
    if podman "${flags[@]}" run --rm "${limits[@]}" "$base" true 2>>"$work/err"; then
      podman_flags=("${flags[@]}") run_flags=("${limits[@]}") found=1
      break 2
    fi
  done
done
if [ $found = 0 ]; then
  echo "docker_check: podman cannot start a container here: $(sort -u "$work/err" | head -n3)" >&2
  exit 1
fi
if [ ${#podman_flags[@]} -gt 0 ] || [ ${#run_flags[@]} -gt 0 ]; then
  echo "docker_check: podman needs" ${podman_flags[@]+"${podman_flags[@]}"} "${run_flags[@]}" "here" \
       "(podman's defaults: $(sort -u "$work/err" | head -n1))"
fi

# The build stage fetches packages: the host's network (apt's mirror, proxy).
# Its output goes to the log; the terminal gets the Dockerfile's steps.
log=$work.log
build_image() {
  podman "${podman_flags[@]}" build --network host "${run_flags[@]}" \
    --build-arg BASE="$base" -t "$tag" -f "$repo/Dockerfile" "$repo" 2>&1 |
    tee "$log" | grep --line-buffered -E '^\[[0-9]+/[0-9]+\] STEP|^(setup|runtime_packages):'
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "docker_check: the image did not build; the build's last lines:" >&2
    tail -n 30 "$log" | sed 's/^/  | /' >&2
  fi
  return "$rc"
}
phase image build_image
echo "docker_check: build log $log"
size=$(podman image inspect --format '{{.Size}}' "$tag")
base_size=$(podman image inspect --format '{{.Size}}' "$base")
echo "docker_check: image $tag is $((size / 1000000)) MB ($((base_size / 1000000)) MB of it the base)"

mkdir -p "$work/runs"
phase "train one epoch in the image" podman "${podman_flags[@]}" run --rm --network none \
  "${run_flags[@]}" -v "$mnist:/data:ro" -v "$work/runs:/work/runs" "$tag" \
  train --data-dir /data --epochs 1 --out runs/check
for f in checkpoint.pt metrics.csv samples.png; do
  [ -s "$work/runs/check/$f" ] || { echo "docker_check: the run wrote no $f" >&2; exit 1; }
done
neg_elbo=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_neg_elbo") c = i }
                   END { print $c }' "$work/runs/check/metrics.csv")
echo "docker_check: test -ELBO after one epoch in the image: $neg_elbo nats"
echo "docker_check: podman keeps the build stage's layers as a cache (podman image prune removes them)"
phase_summary "docker_check"
