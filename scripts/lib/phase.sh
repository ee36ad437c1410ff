# shellcheck shell=bash
# Sourced by the scripts: `phase NAME CMD...` runs CMD (a program, or a shell
# function that returns its own status: `set -e` does not reach inside it),
# prints "==> NAME" before it and "==> NAME: 1m23s" after it, and keeps the
# time for `phase_summary LABEL` ("LABEL: packages 5m02s, build 9m40s").
# A failing CMD's exit status is returned, so `set -e` callers stop there.

_phase_done=()

phase_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

phase() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo "==> $name"
  "$@" || rc=$?
  local took=$((SECONDS - start))
  _phase_done+=("$name $(phase_time $took)")
  if [ $rc -ne 0 ]; then
    echo "==> $name: FAILED (exit $rc) after $(phase_time $took)"
    return $rc
  fi
  echo "==> $name: $(phase_time $took)"
}

phase_summary() {
  local IFS=,
  echo "==> $1: ${_phase_done[*]}" | sed 's/,/, /g'
}
