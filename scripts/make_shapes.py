#!/usr/bin/python3
"""A colour picture set made here: coloured shapes on coloured backgrounds.

usage: /usr/bin/python3 scripts/make_shapes.py OUT_DIR [--count N] [--size S] [--seed K]

Writes N (default 20,000) S x S (default 32) RGB PNG pictures into class
subfolders OUT_DIR/circle, OUT_DIR/square, OUT_DIR/triangle: one shape per
picture, at a random position and size (a quarter to three quarters of the
picture), in a random colour on a random background colour at least 96 apart
(summed over R, G, B) so that the shape is visible. Deterministic for a seed.
The set `vae train --data-dir OUT_DIR --model conv32` reads (README).
Uses Pillow (python3-pil, a dependency of python3-matplotlib).
"""
import os
import random
import sys

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")


def colour(rng):
    return tuple(rng.randrange(256) for _ in range(3))


def picture(rng, size):
    background = colour(rng)
    fill = colour(rng)
    while sum(abs(a - b) for a, b in zip(background, fill)) < 96:
        fill = colour(rng)
    shape = rng.randrange(len(SHAPES))
    side = rng.uniform(0.25, 0.75) * size
    x0 = rng.uniform(0, size - side)
    y0 = rng.uniform(0, size - side)
    # Drawn at 4x and shrunk: smooth edges.
    scale = 4
    image = Image.new("RGB", (size * scale, size * scale), background)
    draw = ImageDraw.Draw(image)
    box = [x0 * scale, y0 * scale, (x0 + side) * scale, (y0 + side) * scale]
    if SHAPES[shape] == "circle":
        draw.ellipse(box, fill=fill)
    elif SHAPES[shape] == "square":
        draw.rectangle(box, fill=fill)
    else:
        draw.polygon([((box[0] + box[2]) / 2, box[1]), (box[0], box[3]), (box[2], box[3])],
                     fill=fill)
    return SHAPES[shape], image.resize((size, size), Image.LANCZOS)


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__)
        return 2
    out = argv[1]
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else 20000
    size = int(argv[argv.index("--size") + 1]) if "--size" in argv else 32
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    rng = random.Random(seed)
    for name in SHAPES:
        os.makedirs(os.path.join(out, name), exist_ok=True)
    for i in range(count):
        name, image = picture(rng, size)
        image.save(os.path.join(out, name, "%05d.png" % i))
    print("wrote %d %dx%d pictures to %s" % (count, size, size, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
