#!/usr/bin/env bash
# Data-parallel training on this machine, the way `torchrun --nproc-per-node N`
# starts it: N processes of `vae train` with RANK, LOCAL_RANK, WORLD_SIZE,
# LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set. Rank 0 prints the
# progress and writes the run; when one process fails, the others are
# stopped and the script exits with its status.
#
#   scripts/launch_local.sh N [vae train flags]
#   e.g. scripts/launch_local.sh 2 --data-dir ../shared/data/mnist --epochs 3 --out runs/ddp
#
# MASTER_PORT (default 29500) and MASTER_ADDR (default 127.0.0.1) may be set
# beforehand; VAE_BIN names the executable (default: build/vae). Each process
# takes its share of the CPUs unless --threads says otherwise. For several
# machines, start `vae train` on each with the same WORLD_SIZE, MASTER_ADDR
# (rank 0's address) and MASTER_PORT and its own RANK (README.md).
set -euo pipefail

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/launch_local.sh N [vae train flags]  (N: number of processes)" >&2
  exit 2
fi
n=$1
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vae="${VAE_BIN:-$root/build/vae}"
if [ ! -x "$vae" ]; then
  echo "launch_local: $vae not found; build first (scripts/build.sh)" >&2
  exit 1
fi
export MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
export MASTER_PORT="${MASTER_PORT:-29500}"
export WORLD_SIZE="$n" LOCAL_WORLD_SIZE="$n"

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
# Ctrl-C reaches every rank from the terminal: they finish the step, rank 0
# writes a checkpoint, and all exit; the script just waits for them. A
# SIGTERM sent to the script alone is passed on to the ranks.
trap ':' INT
trap 'stop_all' TERM

for ((rank = 0; rank < n; rank++)); do
  RANK=$rank LOCAL_RANK=$rank "$vae" train "$@" &
  pids+=($!)
done

# Wait for the first process to end; a failure stops the rest.
status=0
remaining=$n
while [ "$remaining" -gt 0 ]; do
  set +e
  unset finished
  wait -n -p finished "${pids[@]}"
  code=$?
  set -e
  # A trapped signal ends `wait` early without a process having finished.
  [ -n "${finished:-}" ] || continue
  remaining=$((remaining - 1))
  if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then
    status=$code
    # 130/143: the ranks stopped on a signal together; anything else is a
    # failure that the others must not wait out.
    if [ "$code" -ne 130 ] && [ "$code" -ne 143 ]; then
      echo "launch_local: a process exited with status $code; stopping the others" >&2
      stop_all
    fi
  fi
done
exit "$status"
