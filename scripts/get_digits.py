#!/usr/bin/python3
"""scikit-learn's 8x8 digits as a folder of pictures whose pixels are counts.

usage: /usr/bin/python3 scripts/get_digits.py OUT_DIR

Writes the 1,797 images of sklearn.datasets.load_digits() (Debian's
python3-sklearn ships them: VAE_SETUP_EXTRA=python3-sklearn bash
scripts/setup.sh installs it) as 8-bit grey PNG
files OUT_DIR/<digit>/NNNN.png whose pixel values are the counts 0..16 as
they are (not scaled to 0..255): the data of a Poisson or binomial likelihood,
  vae train --data-dir OUT_DIR --likelihood poisson
  vae train --data-dir OUT_DIR --likelihood binomial --trials 16
(the test set: --test-fraction of them, 10 % by default).
"""
import os
import sys


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__)
        return 2
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("get_digits: scikit-learn is missing; install it with "
              "VAE_SETUP_EXTRA=python3-sklearn bash scripts/setup.sh", file=sys.stderr)
        return 1
    from PIL import Image

    out = argv[1]
    digits = load_digits()
    counts = {}
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = os.path.join(out, str(int(label)))
        os.makedirs(folder, exist_ok=True)
        pixels = bytes(int(v) for v in image.reshape(-1))
        assert max(pixels) <= 16
        Image.frombytes("L", (8, 8), pixels).save(os.path.join(folder, "%04d.png" % i))
        counts[int(label)] = counts.get(int(label), 0) + 1
    print("wrote %d 8x8 count images (0..16) in %d classes to %s"
          % (len(digits.images), len(counts), out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
