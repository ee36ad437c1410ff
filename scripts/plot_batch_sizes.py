#!/usr/bin/python3
"""Table and picture of scripts/compare_batch_sizes.sh's runs.

usage: /usr/bin/python3 scripts/plot_batch_sizes.py DIR

DIR holds runs NAME-rR (NAME 128, 1024 or auto; R the round). Prints a
markdown table: per setting the medians over rounds of the final test -ELBO,
the training seconds of all epochs, and the training seconds (and epochs)
until the test -ELBO first reached the final value of the fixed 128 and the
fixed 1024 run of the same round; the auto runs' batch per epoch. Writes
DIR/batch_sizes.png: test -ELBO against training seconds, and the batch per
epoch. Training seconds exclude the evaluations (the same for every setting).
"""
import csv
import glob
import os
import re
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NAMES = ["128", "1024", "auto"]


def read_run(path):
    rows = list(csv.DictReader(open(os.path.join(path, "metrics.csv"), newline="")))
    seconds, elbo, batch, total = [], [], [], 0.0
    for r in rows:
        total += float(r["seconds"])
        seconds.append(total)
        elbo.append(float(r["test_neg_elbo"]))
        batch.append(int(r["batch_size"]) if r.get("batch_size") else None)
    return {"seconds": seconds, "elbo": elbo, "batch": batch}


def time_to(run, target):
    """(seconds, epoch) at the first epoch whose test -ELBO is <= target, or None."""
    for e, (s, v) in enumerate(zip(run["seconds"], run["elbo"])):
        if v <= target:
            return s, e + 1
    return None


def main(directory):
    runs = {}  # (name, round) -> run
    for path in glob.glob(os.path.join(directory, "*-r*")):
        m = re.fullmatch(r"(128|1024|auto)-r(\d+)", os.path.basename(path))
        if m and os.path.exists(os.path.join(path, "metrics.csv")):
            runs[(m.group(1), int(m.group(2)))] = read_run(path)
    rounds = sorted({r for (n, r) in runs if all((x, r) in runs for x in NAMES)})
    if not rounds:
        sys.exit(f"{directory}: no complete round of runs 128-rR, 1024-rR, auto-rR")

    def reach(name, fixed):
        hits = [time_to(runs[(name, r)], runs[(fixed, r)]["elbo"][-1]) for r in rounds]
        if any(h is None for h in hits):
            return f"not reached in {sum(h is None for h in hits)} of {len(hits)}"
        return (f"{statistics.median(h[0] for h in hits):.1f} s "
                f"(epoch {statistics.median(h[1] for h in hits):.0f})")

    cpu = open(os.path.join(directory, "cpu.txt")).read().strip() \
        if os.path.exists(os.path.join(directory, "cpu.txt")) else "?"
    print(f"{len(rounds)} rounds, {len(runs[(NAMES[0], rounds[0])]['elbo'])} epochs each, "
          f"medians; CPU: {cpu}\n")
    print("| --batch-size | final test −ELBO | training s | to fixed 128's final | "
          "to fixed 1024's final |")
    print("|---|---|---|---|---|")
    for name in NAMES:
        final = statistics.median(runs[(name, r)]["elbo"][-1] for r in rounds)
        seconds = statistics.median(runs[(name, r)]["seconds"][-1] for r in rounds)
        print(f"| {name} | {final:.2f} | {seconds:.1f} | {reach(name, '128')} | "
              f"{reach(name, '1024')} |")
    for r in rounds:
        print(f"\nauto, round {r}, batch per epoch: "
              + ", ".join(str(b) for b in runs[("auto", r)]["batch"]))

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, name in enumerate(NAMES):
        for j, r in enumerate(rounds):
            run = runs[(name, r)]
            left.plot(run["seconds"], run["elbo"], "o-", color=f"C{i}", alpha=1.0 if j == 0 else 0.3,
                      label=f"--batch-size {name}" if j == 0 else None)
        run = runs[(name, rounds[0])]
        epochs = range(1, len(run["elbo"]) + 1)
        batch = run["batch"] if name == "auto" else [int(name)] * len(run["elbo"])
        right.plot(epochs, batch, "o-", color=f"C{i}", label=f"--batch-size {name}")
    left.axhline(statistics.median(runs[("128", r)]["elbo"][-1] for r in rounds), color="C0",
                 ls=":", lw=1, label="fixed 128's final")
    left.set_xlabel("training seconds")
    left.set_ylabel("test −ELBO (nats)")
    low = min(min(r["elbo"]) for r in runs.values())
    left.set_ylim(low - 1.0, min(low + 35.0, max(max(r["elbo"]) for r in runs.values())))
    left.grid(alpha=0.3)
    left.legend()
    right.set_yscale("log", base=2)
    right.set_xlabel("epoch")
    right.set_ylabel("batch size")
    right.grid(alpha=0.3)
    right.legend()
    fig.suptitle("Adaptive batch (norm test, Byrd et al. 2012) vs fixed batches, default MLP on MNIST")
    fig.tight_layout()
    tmp = os.path.join(directory, "batch_sizes.png.tmp")
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, os.path.join(directory, "batch_sizes.png"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
