#!/usr/bin/python3
"""Nats against training time, for README's "Matching the literature": for
each run directory, the validation and test -ELBO from its metrics.csv
against the cumulative training and evaluation minutes (with --ema-decay,
the trained weights' validation -ELBO dotted beside the average's), and,
where the run directory holds eval JSON files written by `vae eval --out`
(given as RUN:EVAL.json), the -L_k of that evaluation at the run's end.
Horizontal lines mark the literature's numbers.

usage: /usr/bin/python3 scripts/plot_nll_curve.py --out FILE.png
           RUN[:EVAL.json][=LABEL]...
"""
import argparse
import csv
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LITERATURE = [(86.76, "Burda et al. 2015, VAE, 1 layer"),
              (84.78, "Burda et al. 2015, IWAE k=50, 1 layer"),
              (82.90, "Burda et al. 2015, IWAE k=50, 2 layers"),
              (82.0, "the goal of issue 19")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for i, spec in enumerate(args.runs):
        label = None
        if "=" in spec:
            spec, label = spec.split("=", 1)
        run, eval_path = (spec.split(":", 1) + [""])[:2]
        label = label or os.path.basename(run.rstrip("/"))
        with open(os.path.join(run, "metrics.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
        minutes, elapsed = [], 0.0
        for r in rows:
            elapsed += float(r["seconds"]) + float(r["eval_seconds"])
            minutes.append(elapsed / 60.0)
        colour = "C%d" % i
        if "valid_neg_elbo" in rows[0]:
            ax.plot(minutes, [float(r["valid_neg_elbo"]) for r in rows], "-", color=colour,
                    alpha=0.5, label="%s: validation -ELBO" % label)
        if "valid_trained_neg_elbo" in rows[0]:  # --ema-decay: the trained weights too
            ax.plot(minutes, [float(r["valid_trained_neg_elbo"]) for r in rows], ":",
                    color=colour, alpha=0.7,
                    label="%s: validation -ELBO, trained weights (no average)" % label)
        tested = [(m, float(r["test_neg_elbo"])) for m, r in zip(minutes, rows)
                  if r["test_neg_elbo"] != ""]
        ax.plot([m for m, _ in tested], [v for _, v in tested], "o--", color=colour, ms=3,
                label="%s: test -ELBO" % label)
        if eval_path:
            with open(eval_path) as f:
                e = json.load(f)
            ax.plot([minutes[-1]], [e["neg_log_px"]], "*", color=colour, ms=14,
                    label="%s: test -L_%d = %.2f" % (label, e["k"], e["neg_log_px"]))
    for value, text in LITERATURE:
        ax.axhline(value, color="grey", lw=0.8, ls=":")
        ax.text(0.01, value, text, transform=ax.get_yaxis_transform(), va="bottom", fontsize=7,
                color="grey")
    ax.set_ylim(78, 105)
    ax.set_xlabel("training and evaluation time (minutes, this machine)")
    ax.set_ylabel("nats per test image (lower is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Binarized MNIST: -ELBO and -log p(x) against training time")
    fig.tight_layout()
    tmp = args.out + ".tmp"
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, args.out)
    print("wrote " + args.out)


if __name__ == "__main__":
    main()
