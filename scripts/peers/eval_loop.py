#!/usr/bin/python3
"""The Python peer that `vae eval` is timed against (issue 19, point 3): the
importance-sampled log-likelihood L_k (Burda et al. 2015, eq. 8) written the
way a PyTorch user writes it over the files `vae export` makes. Per image: k
codes in chunks from encoder.rsample_with_log_prob, the decoder's output
(logits) from decoder.output, BCE-with-logits summed over pixels, log N(z; 0, I),
then a log-mean-exp over the k log weights.

The test images are MNIST's, binarized once with the generator vae uses
(seed 20080101, torch.bernoulli), so the values can be compared image by
image with `vae eval --per-image`. Works for every posterior family whose
prior (of the top layer, for a hierarchy) is N(0, I) and for any
architecture with the Bernoulli likelihood, autoregressive decoders included
(conditioned(x, output(z))); a hierarchy's log p(z) adds the decoder's
log_conditional_prior(z).

usage: /usr/bin/python3 scripts/peers/eval_loop.py EXPORT_DIR MNIST_DIR
           [--k 5000] [--chunk 1000] [--test-size 300] [--threads 2] [--json F]
Prints the mean -L_k, its standard error and the seconds taken.
"""
import argparse
import gzip
import json
import math
import os
import time

import torch
import torch.nn.functional as F

BINARIZE_SEED = 20080101


def load_test_images(mnist_dir, count):
    name = os.path.join(mnist_dir, "t10k-images-idx3-ubyte")
    opener = open
    if not os.path.exists(name):
        name, opener = name + ".gz", gzip.open
    with opener(name, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    images = torch.frombuffer(bytearray(data[16:16 + n * rows * cols]), dtype=torch.uint8)
    images = images.view(n, rows, cols)
    # Binarized as vae's test set: one draw from the whole set's grey levels.
    generator = torch.Generator().manual_seed(BINARIZE_SEED)
    binary = torch.bernoulli(images.float() / 255.0, generator=generator)
    return binary[:count].view(-1, 1, rows, cols)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("export_dir")
    parser.add_argument("mnist_dir")
    parser.add_argument("--k", type=int, default=5000)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--test-size", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    encoder = torch.jit.load(os.path.join(args.export_dir, "encoder.pt"))
    decoder = torch.jit.load(os.path.join(args.export_dir, "decoder.pt"))
    with open(os.path.join(args.export_dir, "model.json")) as f:
        architecture = json.load(f)["architecture"]
    if architecture.get("prior", "standard-normal") != "standard-normal":
        raise SystemExit("eval_loop.py: error: the prior is %s; this loop knows N(0, I) only"
                         % architecture["prior"])
    if architecture.get("likelihood", "bernoulli") != "bernoulli":
        raise SystemExit("eval_loop.py: error: the likelihood is %s; this loop knows bernoulli only"
                         % architecture["likelihood"])
    latent = encoder.latent_dim
    top = architecture.get("latent_dims", [latent])[-1]
    hierarchy = top != latent
    images = load_test_images(args.mnist_dir, args.test_size)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    # An autoregressive decoder's likelihood reads conditioned(x, output(z)):
    # output(z) + context(x) where the offsets read x alone (context(x) once
    # per image), else conditioned for each chunk of codes.
    offsets = hasattr(decoder, "context")
    conditioned = hasattr(decoder, "conditioned") and not offsets

    start = time.perf_counter()
    values = []
    with torch.no_grad():
        for x in images:
            x = x.unsqueeze(0)
            offset = decoder.context(x) if offsets else 0.0
            log_w = []
            for first in range(0, args.k, args.chunk):
                c = min(args.chunk, args.k - first)
                z, log_q = encoder.rsample_with_log_prob(x, torch.randn(1, c, latent))
                z, log_q = z[0], log_q[0]
                logits = decoder.output(z) + offset
                if conditioned:
                    logits = decoder.conditioned(x, logits)
                log_px_z = -F.binary_cross_entropy_with_logits(
                    logits, x.expand_as(logits), reduction="none").flatten(1).sum(1)
                z_top = z[:, latent - top:]
                log_pz = (-0.5 * z_top * z_top - half_log_2pi).sum(1)
                if hierarchy:
                    log_pz = log_pz + decoder.log_conditional_prior(z)
                log_w.append(log_px_z + log_pz - log_q)
            log_w = torch.cat(log_w).double()
            values.append((torch.logsumexp(log_w, 0) - math.log(args.k)).item())
    seconds = time.perf_counter() - start
    v = torch.tensor(values, dtype=torch.float64)
    result = {"images": len(values), "k": args.k, "neg_log_px": -v.mean().item(),
              "se": v.std().item() / math.sqrt(len(values)) if len(values) > 1 else 0.0,
              "seconds": seconds, "per_image_neg_log_px": (-v).tolist()}
    print("python loop: -L_%d = %.3f +- %.3f nats over %d images, %.2f s"
          % (args.k, result["neg_log_px"], result["se"], len(values), seconds))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
