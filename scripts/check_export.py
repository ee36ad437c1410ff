#!/usr/bin/python3
"""Loads files written by `vae export` with Python's torch.jit.load and checks
that they reproduce the C++ outputs saved beside them in reference.pt.

usage: /usr/bin/python3 scripts/check_export.py MODEL_DIR [MODEL_DIR...]

For each directory: encoder.pt's forward on the float, flat and uint8 forms of
the reference images gives the saved mu and logvar; decoder.pt's forward on
the saved codes gives the saved images; sample() and generate() have the
documented shapes and generate() repeats for a seed. Exit 0 when all agree
within 1e-5, 1 otherwise. Uses Debian's python3-torch.
"""
import json
import os
import sys

import torch

TOLERANCE = 1e-5


def check(directory):
    failures = []

    def expect(condition, what):
        print(("ok:     " if condition else "FAILED: ") + what)
        if not condition:
            failures.append(what)

    encoder = torch.jit.load(os.path.join(directory, "encoder.pt"))
    decoder = torch.jit.load(os.path.join(directory, "decoder.pt"))
    reference = torch.jit.load(os.path.join(directory, "reference.pt"))
    with open(os.path.join(directory, "model.json")) as f:
        metadata = json.load(f)
    latent = metadata["architecture"]["latent_dim"]
    expect(encoder.latent_dim == latent and decoder.latent_dim == latent,
           "latent_dim attributes match model.json (%d)" % latent)

    x, x_uint8 = reference.x, reference.x_uint8
    n = x.shape[0]
    with torch.no_grad():
        for name, inputs in (("float [N,1,H,W]", x), ("flat [N,C*H*W]", x.reshape(n, -1)),
                             ("uint8 [N,H,W]", x_uint8)):
            mu, logvar = encoder(inputs)
            diff = max((mu - reference.mu).abs().max().item(),
                       (logvar - reference.logvar).abs().max().item())
            expect(diff <= TOLERANCE, "encoder(%s) matches C++ (max diff %.2e)" % (name, diff))
        decoded = decoder(reference.z)
        diff = (decoded - reference.decoded).abs().max().item()
        expect(diff <= TOLERANCE, "decoder(z) matches C++ (max diff %.2e)" % diff)
        draws = encoder.sample(x, 3)
        expect(tuple(draws.shape) == (n, 3, latent), "sample(x, 3) has shape [N, 3, D]")
        a, b = decoder.generate(4, 7), decoder.generate(4, 7)
        expect(tuple(a.shape) == (4,) + tuple(decoder.image_shape) and torch.equal(a, b),
               "generate(4, seed) has shape [4, C, H, W] and repeats for a seed")
        expect(0.0 <= a.min().item() and a.max().item() <= 1.0, "generated pixels lie in [0, 1]")
    return failures


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    failures = []
    for directory in argv[1:]:
        print("%s (PyTorch %s)" % (directory, torch.__version__))
        failures += check(directory)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
