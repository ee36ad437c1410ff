#!/usr/bin/python3
"""Writes the images of an IDX file (gzip or raw) as 8-bit PNG files.

usage: /usr/bin/python3 scripts/idx_to_png.py IDX_FILE OUT_DIR [--limit N] [--invert]
                                             [--labels LABELS_IDX_FILE]

Files are named 00000.png, 00001.png, ... so that a sorted directory listing
keeps the IDX order. --invert writes dark digits on white (to exercise
`vae encode --invert auto`). --labels puts each image into the subfolder of
its label (OUT_DIR/3/00007.png): a folder of pictures in classes, as
`vae train --data-dir` reads it, e.g.
  idx_to_png.py train-images-idx3-ubyte.gz png/train --labels train-labels-idx1-ubyte.gz
  idx_to_png.py t10k-images-idx3-ubyte.gz png/test --labels t10k-labels-idx1-ubyte.gz
  vae train --data-dir png/train --test-dir png/test Uses Pillow (python3-pil, a dependency of
python3-matplotlib).
"""
import gzip
import os
import struct
import sys

from PIL import Image


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    path, out = argv[1], argv[2]
    limit = int(argv[argv.index("--limit") + 1]) if "--limit" in argv else None
    invert = "--invert" in argv
    labels = None
    if "--labels" in argv:
        raw = read_idx(argv[argv.index("--labels") + 1])
        if raw[:4] != b"\x00\x00\x08\x01":
            print("idx_to_png: the labels file is not an unsigned-byte 1-D IDX file", file=sys.stderr)
            return 1
        labels = raw[8:]
    data = read_idx(path)
    zero, kind, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or kind != 0x08 or ndim != 3:
        print("idx_to_png: %s is not an unsigned-byte 3-D IDX file" % path, file=sys.stderr)
        return 1
    count, rows, cols = struct.unpack(">III", data[4:16])
    count = min(count, limit) if limit is not None else count
    os.makedirs(out, exist_ok=True)
    size = rows * cols
    for i in range(count):
        pixels = data[16 + i * size:16 + (i + 1) * size]
        if invert:
            pixels = bytes(255 - p for p in pixels)
        folder = out if labels is None else os.path.join(out, str(labels[i]))
        if labels is not None:
            os.makedirs(folder, exist_ok=True)
        Image.frombytes("L", (cols, rows), pixels).save(os.path.join(folder, "%05d.png" % i))
    print("wrote %d PNG files to %s" % (count, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
