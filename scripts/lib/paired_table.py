#!/usr/bin/python3
"""Markdown rows of paired differences between models scored on the same
images: for each NAME=LABEL after the first, the mean of its per-image L_k
and ELBO minus the first model's, with the standard error of the paired
differences (the rows score the same images, so that is the error that says
whether a difference is real).

usage: paired_table.py DIR BASE_NAME NAME=LABEL...
reads DIR/NAME.per_image.csv (vae eval --per-image).
"""
import csv
import math
import sys


def scores(directory, name):
    rows = list(csv.DictReader(open(f"{directory}/{name}.per_image.csv")))
    return [-float(r["neg_log_px"]) for r in rows], [-float(r["neg_elbo"]) for r in rows]


def paired(a, b):
    d = [x - y for x, y in zip(a, b)]
    m = sum(d) / len(d)
    se = math.sqrt(sum((v - m) ** 2 for v in d) / (len(d) - 1) / len(d))
    return f"{m:+.2f} ± {se:.2f}"


def main(argv):
    directory, base_name, entries = argv[1], argv[2], argv[3:]
    base = scores(directory, base_name)
    for entry in entries:
        name, label = entry.split("=", 1)
        lk, elbo = scores(directory, name)
        print(f"| {label} | {paired(lk, base[0])} | {paired(elbo, base[1])} |")


if __name__ == "__main__":
    main(sys.argv)
