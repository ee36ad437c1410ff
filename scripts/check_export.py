#!/usr/bin/python3
"""Loads files written by `vae export` with Python's torch.jit.load and checks
that they reproduce the C++ outputs saved beside them in reference.pt.

usage: /usr/bin/python3 scripts/check_export.py MODEL_DIR [MODEL_DIR...]

For each directory, whatever the posterior family: encoder.pt's forward on
the float, flat and uint8 forms of the reference images gives the saved
outputs (mu and logvar, or the categorical logits);
rsample_with_log_prob(x, eps) on the saved noise gives the saved draws and
log q (and log_prob, where the family has it, gives log q back); sample() and
summary() have the documented shapes; decoder.pt's forward on the saved codes
gives the saved images, and sigmoid(output(z)) gives them too where the
likelihood's mean is the sigmoid (an autoregressive decoder: conditioned(x,
output(z)) has the images' shape and gives the first pixel's mean through the
sigmoid, and context(x), where exported, is its offset); generate() has its
shape and repeats for a seed; a hierarchy's descend(top) has its shape and
log_conditional_prior(z) gives C++'s at the draws. Exit 0 when all agree within 1e-5, 1 otherwise.
Uses Debian's python3-torch.
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

    family = metadata["architecture"].get("posterior", "diagonal-gaussian")
    names = ["logits"] if family == "categorical" else ["mu", "logvar"]
    x, x_uint8 = reference.x, reference.x_uint8
    n = x.shape[0]
    with torch.no_grad():
        for name, inputs in (("float [N,1,H,W]", x), ("flat [N,C*H*W]", x.reshape(n, -1)),
                             ("uint8 [N,H,W]", x_uint8)):
            outputs = encoder(inputs)
            diff = max((out - getattr(reference, key)).abs().max().item()
                       for out, key in zip(outputs, names))
            expect(len(outputs) == len(names) and diff <= TOLERANCE,
                   "%s encoder(%s) gives %s like C++ (max diff %.2e)"
                   % (family, name, ", ".join(names), diff))
        z, log_q = encoder.rsample_with_log_prob(x, reference.eps)
        diff = max((z - reference.draw_z).abs().max().item(),
                   (log_q - reference.draw_log_q).abs().max().item())
        expect(diff <= TOLERANCE,
               "rsample_with_log_prob(x, eps) gives C++'s draws and log q (max diff %.2e)" % diff)
        # A flow inverts float32 draws, whose rounding its Jacobian amplifies.
        tolerance = 1e-3 if family in ("planar", "iaf") else TOLERANCE
        diff = (encoder.log_prob(x, reference.draw_z) - reference.draw_log_q).abs().max().item()
        # Relative to log q's size: float32 rounding grows with it (wide codes, narrow posteriors).
        scale = max(1.0, reference.draw_log_q.abs().max().item())
        expect(diff <= tolerance * scale,
               "log_prob(x, z) at those draws gives log q (max diff %.2e)" % diff)
        decoded = decoder(reference.z)
        diff = (decoded - reference.decoded).abs().max().item()
        expect(diff <= TOLERANCE, "decoder(z) matches C++ (max diff %.2e)" % diff)
        output = decoder.output(reference.z)
        expect(output.shape == decoded.shape, "decoder.output(z) has the images' shape")
        if metadata["architecture"].get("autoregressive_kernel", 0):
            # The likelihood reads conditioned(x, output(z)); forward(z) is
            # the mean-field image, whose first pixel reads no pixel before it.
            v = decoder.conditioned(x, output)
            expect(v.shape == x.shape, "decoder.conditioned(x, output(z)) has the images' shape")
            diff = (torch.sigmoid(v[:, :, 0, 0]) - decoded[:, :, 0, 0]).abs().max().item()
            expect(diff <= TOLERANCE,
                   "decoder(z)'s first pixel is sigmoid(conditioned(x, output(z))) there")
            if hasattr(decoder, "context"):  # offsets that read x alone
                offset = decoder.context(x)
                expect(offset[:, :, 0, 0].abs().max().item() == 0,
                       "decoder.context(x) is zero at the first pixel")
                diff = (output + offset - v).abs().max().item()
                expect(diff <= TOLERANCE, "conditioned(x, h) is h + context(x)")
        elif metadata["architecture"].get("likelihood", "bernoulli") in ("bernoulli", "gaussian"):
            diff = (torch.sigmoid(output) - decoded).abs().max().item()
            expect(diff <= TOLERANCE,
                   "sigmoid(decoder.output(z)) is decoder(z) (max diff %.2e)" % diff)
        draws = encoder.sample(x, 3)
        expect(tuple(draws.shape) == (n, 3, latent), "sample(x, 3) has shape [N, 3, D]")
        if family == "categorical":
            k = metadata["training"]["categories"]
            relaxed = encoder.sample(x, 3, 0.5, False).reshape(n, 3, -1, k)
            expect(torch.allclose(relaxed.sum(-1), torch.ones(relaxed.shape[:-1])),
                   "sample(x, 3, tau=0.5, hard=False) gives relaxed one-hot vectors")
        summary = encoder.summary(x, 50)
        first = next(iter(summary.values()))
        expect(tuple(first.shape) == (n, latent),
               "summary(x, 50) gives %s; the first [N, D]" % ", ".join(summary))
        a, b = decoder.generate(4, 7), decoder.generate(4, 7)
        expect(tuple(a.shape) == (4,) + tuple(decoder.image_shape) and torch.equal(a, b),
               "generate(4, seed) has shape [4, C, H, W] and repeats for a seed")
        expect(0.0 <= a.min().item() and a.max().item() <= 1.0, "generated pixels lie in [0, 1]")
        dims = metadata["architecture"].get("latent_dims", [latent])
        if len(dims) > 1:
            # A hierarchy: the code is every layer's; generate() descends from the top.
            expect(list(encoder.layer_dims) == dims and list(decoder.layer_dims) == dims
                   and sum(dims) == latent,
                   "layer_dims attributes match model.json (%s)" % dims)
            codes = decoder.descend(torch.zeros(5, dims[-1]))
            expect(tuple(codes.shape) == (5, latent) and torch.equal(codes[:, -dims[-1]:],
                                                                      torch.zeros(5, dims[-1])),
                   "descend(top) draws the layers below the top one: [n, D]")
            # Float sums of ~100 terms in another order: relative tolerance.
            lp = decoder.log_conditional_prior(reference.draw_z)
            want = reference.draw_log_conditional_prior
            diff = ((lp - want).abs() / want.abs().clamp(min=1.0)).max().item()
            expect(lp.shape == want.shape and diff <= TOLERANCE,
                   "log_conditional_prior(z) at the draws gives C++'s (max relative diff %.2e)"
                   % diff)
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
