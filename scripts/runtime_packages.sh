#!/usr/bin/env bash
# Prints, one a line, the Debian packages that provide the shared libraries
# BINARY links directly (its NEEDED entries, found where ldd resolves them),
# so that an image's runtime stage installs those, apt adds what they depend
# on, and no compiler or -dev package comes along. A library no package owns
# stops it with its name.
# usage: runtime_packages.sh BINARY
set -euo pipefail
binary=${1:?usage: runtime_packages.sh BINARY}
owner() {
  # dpkg knows a file by the path its package ships it under: try the path
  # ldd found, where a symlink (update-alternatives) leads, and the /lib and
  # /usr/lib spellings of both (merged /usr).
  local path=$1 target candidate
  for target in "$path" "$(readlink -f "$path")"; do
    for candidate in "$target" "${target#/usr}" "/usr$target"; do
      dpkg -S "$candidate" 2>/dev/null | awk -F': ' '!/^diversion/ { sub(/:.*/, "", $1); print $1; exit }' |
        grep . && return 0
    done
  done
  return 1
}
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
resolved=$(ldd "$binary")
packages=() missing=0
for n in $needed; do
  lib=$(echo "$resolved" | awk -v n="$n" '$1 == n && $2 == "=>" && $3 ~ /^\// { print $3; exit }')
  if [ -z "$lib" ]; then
    echo "runtime_packages: $n is not found (ldd $binary)" >&2
    missing=1
    continue
  fi
  if pkg=$(owner "$lib"); then packages+=("$pkg"); else
    echo "runtime_packages: no package owns $lib" >&2
    missing=1
  fi
done
[ $missing = 0 ] || exit 1
printf '%s\n' "${packages[@]}" | sort -u
