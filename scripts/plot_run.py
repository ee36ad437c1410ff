#!/usr/bin/python3
"""Plots of a vae run and its static report page.

usage: /usr/bin/python3 scripts/plot_run.py RUN_DIR [--check]

Reads RUN_DIR/{config.json,metrics.csv,kl_per_dim.csv} and writes
  RUN_DIR/plots/learning_curves.png  train and test -ELBO, reconstruction and
                                     KL per epoch, the KL weight beta on a
                                     second axis
  RUN_DIR/plots/collapse.png         active units and I(x;z) per epoch
  RUN_DIR/plots/kl_heatmap.png       KL of each latent dimension over epochs
  RUN_DIR/plots/temperature.png      the Gumbel-softmax temperature per epoch
                                     (categorical runs)
  RUN_DIR/plots/batch_size.png       the batch per epoch and the norm test's
                                     gradient noise and signal (--batch-size
                                     auto)
  RUN_DIR/report.html                config, final metrics, plots and the
                                     latest images (and reconstructions.png,
                                     traversal.png, manifold.png, scatter.png
                                     when present); opens without a server
With --check it only verifies that every image report.html references exists
and is a valid PNG (exit 1 otherwise).

Uses Debian's python3-matplotlib (scripts/setup.sh installs it); run it with
/usr/bin/python3 when another python3 comes first on PATH.
"""
import csv
import html
import json
import os
import re
import struct
import sys
import zlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def column(rows, name, kind=float):
    return [kind(r[name]) for r in rows]


def save(fig, path):
    tmp = path + ".tmp"
    fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    os.replace(tmp, path)  # atomic, like every file vae writes


def scored(rows):
    """The epochs whose test set was scored (--eval-every leaves the others empty)."""
    return [r for r in rows if r["test_neg_elbo"] != ""]


def learning_curves(rows, path):
    epochs = column(rows, "epoch", int)
    tested = scored(rows)
    test_epochs = column(tested, "epoch", int)
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(epochs, column(rows, "train_neg_elbo"), "o-", label="train -ELBO")
    ax.plot(test_epochs, column(tested, "test_neg_elbo"), "o-", label="test -ELBO")
    if "valid_neg_elbo" in rows[0]:  # --valid-size
        ax.plot(epochs, column(rows, "valid_neg_elbo"), "o--", color="C1", alpha=0.6,
                label="validation -ELBO")
    ax.plot(epochs, column(rows, "train_recon"), "s:", color="C2", alpha=0.6, label="train reconstruction")
    ax.plot(test_epochs, column(tested, "test_recon"), "s--", color="C2", label="test reconstruction")
    ax.plot(epochs, column(rows, "train_kl"), "^:", color="C3", alpha=0.6, label="train KL")
    ax.plot(test_epochs, column(tested, "test_kl"), "^--", color="C3", label="test KL")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("nats per image")
    ax.grid(alpha=0.3)
    beta_ax = ax.twinx()
    beta_ax.plot(epochs, column(rows, "beta"), color="grey", alpha=0.6, label="beta (end of epoch)")
    beta_ax.set_ylabel("KL weight beta")
    beta_ax.set_ylim(bottom=0)
    lines = ax.get_legend_handles_labels()
    more = beta_ax.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="upper right", fontsize=8)
    ax.set_title("Learning curves")
    save(fig, path)


def collapse_by_layer(rows, dims, path):
    """A hierarchy: active units and KL of each latent layer per epoch."""
    epochs = column(scored(rows), "epoch", int)
    layers = sorted({int(r["layer"]) for r in dims})
    fig, (ax, kl_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for layer in layers:
        mine = [r for r in dims if int(r["layer"]) == layer]
        size = len({int(r["dim"]) for r in mine})
        active = [sum(int(r["active"]) for r in mine if int(r["epoch"]) == e) for e in epochs]
        kl = [sum(float(r["kl"]) for r in mine if int(r["epoch"]) == e) for e in epochs]
        ax.plot(epochs, [a / size for a in active], "o-", label="layer %d (%d units)" % (layer, size))
        kl_ax.plot(epochs, kl, "o-", label="layer %d" % layer)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of the layer's units active")
    kl_ax.set_ylabel("KL of the layer (test set, nats)")
    for a in (ax, kl_ax):
        a.set_xlabel("epoch")
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(alpha=0.3)
        a.legend()
    fig.suptitle("Posterior collapse monitor, by latent layer (1 = bottom)")
    save(fig, path)


def collapse(rows, dims, latent_dim, unit, path):
    if dims and "layer" in dims[0]:
        return collapse_by_layer(rows, dims, path)
    rows = scored(rows)
    epochs = column(rows, "epoch", int)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(epochs, column(rows, "active_units", int), "o-", color="C0")
    ax.set_ylim(0, latent_dim + 0.5)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("active %s (of %d)" % ("variables" if unit == "c" else "units", latent_dim),
                  color="C0")
    ax.grid(alpha=0.3)
    mi = [float(v) if v not in ("", "nan") else float("nan") for v in column(rows, "mutual_info", str)]
    mi_label = "I(x; z), nats"
    if dims and "mutual_info" in dims[0]:
        # Per categorical variable: their sum bounds I(x; c) from above.
        mi = [sum(float(r["mutual_info"]) for r in dims if int(r["epoch"]) == e) for e in epochs]
        mi_label = "sum over variables of I(x; c_j), nats"
    mi_ax = ax.twinx()
    mi_ax.plot(epochs, mi, "s--", color="C1")
    mi_ax.set_ylabel(mi_label, color="C1")
    ax.set_title("Posterior collapse monitor")
    save(fig, path)


def temperature(rows, path):
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(column(rows, "epoch", int), column(rows, "tau"), "o-", color="C3")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("tau (end of epoch)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_title("Gumbel-softmax temperature")
    save(fig, path)


def batch_size(rows, theta, path):
    """--batch-size auto: the batch per epoch, and the mean norm test that chose the next."""
    epochs = column(rows, "epoch", int)
    fig, (ax, test) = plt.subplots(1, 2, figsize=(11, 3.8))
    ax.plot(epochs, column(rows, "batch_size", int), "o-", color="C2")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("batch size")
    ax.grid(alpha=0.3)
    ax.set_title("Batch size (grows when the norm test fails)")
    tested = [r for r in rows if r["norm_noise"] not in ("", "nan")]
    test.plot(column(tested, "epoch", int), column(tested, "norm_noise"), "o-", color="C3",
              label="gradient noise ||Var||₁ / b")
    test.plot(column(tested, "epoch", int), [theta * theta * float(r["norm_signal"]) for r in tested],
              "s--", color="C0", label="θ² × signal ||E g||²")
    test.set_yscale("log")
    test.set_xlabel("epoch")
    test.xaxis.set_major_locator(MaxNLocator(integer=True))
    test.grid(alpha=0.3)
    test.legend()
    test.set_title("Norm test (Byrd et al. 2012), epoch means")
    fig.tight_layout()
    save(fig, path)


def kl_heatmap(rows, unit, path):
    epochs = sorted({int(r["epoch"]) for r in rows})
    dims = sorted({int(r["dim"]) for r in rows})
    # One Monte Carlo KL for the code (flows, learned priors): the spread of
    # each unit's means instead.
    key = "kl" if all(r["kl"] != "" for r in rows) else "mean_variance"
    kl = {(int(r["epoch"]), int(r["dim"])): float(r[key]) for r in rows}
    last = epochs[-1]
    order = sorted(dims, key=lambda d: -kl[(last, d)])  # most informative first
    grid = [[kl[(e, d)] for e in epochs] for d in order]
    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(order) + 1.5)))
    image = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest",
                      extent=(epochs[0] - 0.5, last + 0.5, len(order) - 0.5, -0.5))
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(["%s%d" % (unit, d) for d in order], fontsize=7)
    ax.set_xticks(epochs if len(epochs) <= 20 else epochs[::max(1, len(epochs) // 10)])
    ax.set_xlabel("epoch")
    ax.set_title("KL per latent dimension (test set, nats), sorted by final KL" if key == "kl"
                 else "Variance of each dimension's posterior mean (test set), sorted by final value")
    fig.colorbar(image, ax=ax)
    save(fig, path)


def table(pairs):
    cells = "".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(str(k)), html.escape(str(v)))
                    for k, v in pairs)
    return "<table>%s</table>" % cells


def write_report(run, config, rows, images):
    last = rows[-1]
    metrics = [(k, last[k]) for k in ("epoch", "step", "beta", "train_neg_elbo", "test_neg_elbo",
                                      "test_recon", "test_kl", "active_units", "mutual_info",
                                      "seconds", "images_per_s") + (("tau",) if "tau" in last else ())]
    figures = "".join('<figure><img src="%s" alt="%s"><figcaption>%s</figcaption></figure>'
                      % (html.escape(src), html.escape(caption), html.escape(caption))
                      for src, caption in images)
    page = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vae run %(name)s</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1100px; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; font-size: 0.9em; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
img { max-width: 100%%; border: 1px solid #ddd; }
.cols { display: flex; gap: 2em; flex-wrap: wrap; }
</style></head><body>
<h1>vae run <code>%(name)s</code></h1>
<div class="cols">
<div><h2>Final metrics (epoch %(epoch)s)</h2>%(metrics)s</div>
<div><h2>Configuration</h2>%(config)s</div>
</div>
<h2>Plots and images</h2>
%(figures)s
</body></html>
""" % {"name": html.escape(os.path.basename(os.path.abspath(run))), "epoch": last["epoch"],
       "metrics": table(metrics),
       "config": table((k, v if isinstance(v, str) else json.dumps(v)) for k, v in sorted(config.items())),
       "figures": figures}
    tmp = os.path.join(run, "report.html.tmp")
    with open(tmp, "w") as f:
        f.write(page)
    os.replace(tmp, os.path.join(run, "report.html"))


def valid_png(path):
    """Checks the signature, then every chunk's CRC and that the image data inflates."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return False
    pos, idat, seen_end = 8, b"", False
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4 or zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            return False
        if kind == b"IDAT":
            idat += body
        if kind == b"IEND":
            seen_end = True
            break
        pos += 12 + length
    try:
        return seen_end and len(zlib.decompress(idat)) > 0
    except zlib.error:
        return False


def check(run):
    with open(os.path.join(run, "report.html")) as f:
        sources = re.findall(r'<img src="([^"]+)"', f.read())
    bad = [s for s in sources if not valid_png(os.path.join(run, html.unescape(s)))
           ] if sources else ["(no images referenced)"]
    for s in bad:
        print("report.html: missing or invalid image %s" % s, file=sys.stderr)
    print("report.html: %d images, %d bad" % (len(sources), len(bad)))
    return not bad


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    run = argv[1]
    if "--check" in argv[2:]:
        return 0 if check(run) else 1
    try:
        with open(os.path.join(run, "config.json")) as f:
            config = json.load(f)
        rows = read_csv(os.path.join(run, "metrics.csv"))
        dims = read_csv(os.path.join(run, "kl_per_dim.csv"))
    except (OSError, ValueError) as e:
        print("plot_run: %s is not a finished vae run: %s" % (run, e), file=sys.stderr)
        return 1
    if not rows:
        print("plot_run: %s has no finished epoch yet" % run, file=sys.stderr)
        return 1
    os.makedirs(os.path.join(run, "plots"), exist_ok=True)
    learning_curves(rows, os.path.join(run, "plots", "learning_curves.png"))
    categorical = config.get("posterior") == "categorical"
    unit = "c" if categorical else "z"
    units = int(config["categorical-vars"]) if categorical else int(config["latent-dim"])
    collapse(rows, dims, units, unit, os.path.join(run, "plots", "collapse.png"))
    kl_heatmap(dims, unit, os.path.join(run, "plots", "kl_heatmap.png"))
    images = [("plots/learning_curves.png", "Learning curves"),
              ("plots/collapse.png", "Active units and mutual information"),
              ("plots/kl_heatmap.png",
               "KL per categorical variable" if categorical else "KL per latent dimension")]
    if "tau" in rows[0]:
        temperature(rows, os.path.join(run, "plots", "temperature.png"))
        images.append(("plots/temperature.png", "Gumbel-softmax temperature"))
    if "batch_size" in rows[0]:
        batch_size(rows, float(config.get("norm-test-theta", 1.0)),
                   os.path.join(run, "plots", "batch_size.png"))
        images.append(("plots/batch_size.png", "Batch size and the norm test"))
    snapshots = sorted(f for f in os.listdir(os.path.join(run, "images"))
                       if re.fullmatch(r"epoch_\d+\.png", f)) if os.path.isdir(os.path.join(run, "images")) else []
    if snapshots:
        images.append(("images/" + snapshots[-1],
                       "After epoch %d: prior samples (top), test images and reconstructions"
                       % int(snapshots[-1][6:-4])))
    # samples.png comes from training; the others from the picture commands
    # when written into the run directory (scripts/quickstart.sh does).
    for name, caption in (("samples.png", "Samples from the prior"),
                          ("reconstructions.png", "Test images and reconstructions"),
                          ("traversal.png", "Latent traversal, most informative dimension first"),
                          ("manifold.png", "Decoded latent manifold"),
                          ("scatter.png", "Test-set posterior means by digit")):
        if os.path.exists(os.path.join(run, name)):
            images.append((name, caption))
    write_report(run, config, rows, images)
    print("wrote %s/report.html and %s/plots/" % (run, run))
    return 0 if check(run) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
