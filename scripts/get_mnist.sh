#!/usr/bin/env bash
# Puts the four MNIST IDX files into data/mnist (or $1) and checks their MD5
# sums. Downloads from the usual mirrors; with --from DIR copies them from a
# local directory instead (an offline machine, a shared drive).
set -euo pipefail

source_dir=""
if [ "${1:-}" = "--from" ]; then
  source_dir=$(realpath -m "${2:?usage: get_mnist.sh [--from DIR] [TARGET_DIR]}")
  shift 2
fi
# Paths given by the caller are relative to where it runs; the default is the
# repository's data/mnist (git ignores it).
if [ -n "${1:-}" ]; then
  target=$(realpath -m "$1")
else
  target="$(cd "$(dirname "$0")/.." && pwd)/data/mnist"
fi
mkdir -p "$target"

declare -A md5=(
  [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
  [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
  [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
  [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
mirrors=(
  https://ossci-datasets.s3.amazonaws.com/mnist
  https://storage.googleapis.com/cvdf-datasets/mnist
  http://yann.lecun.com/exdb/mnist
)

fetch() {  # url dest
  if command -v curl >/dev/null; then
    curl -fsSL --connect-timeout 10 --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null; then
    wget -q --timeout=10 -O "$2" "$1"
  else
    echo "get_mnist: neither curl nor wget is installed" >&2
    return 1
  fi
}

verified() {  # file name
  [ -f "$1" ] && [ "$(md5sum "$1" | cut -d' ' -f1)" = "${md5[$2]}" ]
}

for name in "${!md5[@]}"; do
  dest="$target/$name"
  if verified "$dest" "$name"; then
    echo "get_mnist: $dest ok"
    continue
  fi
  if [ -n "$source_dir" ]; then
    cp "$source_dir/$name" "$dest.part"
  else
    ok=0
    for mirror in "${mirrors[@]}"; do
      if fetch "$mirror/$name" "$dest.part" 2>/dev/null; then ok=1; break; fi
    done
    if [ $ok = 0 ]; then
      rm -f "$dest.part"
      cat >&2 <<MSG
get_mnist: could not download $name from any mirror (no network?).
Supply the four files by hand: copy train-images-idx3-ubyte.gz,
train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
t10k-labels-idx1-ubyte.gz into $target (or run: scripts/get_mnist.sh --from DIR),
or point vae at them with --data-dir DIR or MNIST_DIR=DIR.
MSG
      exit 1
    fi
  fi
  if ! verified "$dest.part" "$name"; then
    rm -f "$dest.part"
    echo "get_mnist: $name has the wrong MD5 sum (corrupt or not MNIST)" >&2
    exit 1
  fi
  mv "$dest.part" "$dest"
  echo "get_mnist: $dest ok"
done
