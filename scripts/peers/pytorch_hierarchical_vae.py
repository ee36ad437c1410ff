#!/usr/bin/env python3
"""The Python peer of `vae train --latent-layers 2`: the same two-stochastic-
layer model (Burda et al. 2015's sizes, 784-[200,200]-100-[100,100]-50, ReLU
trunk, tanh conditionals, bottom-up or ladder inference), the same objective
(closed-form KL where q and p are Gaussians given the draw above, log q - log p
at the draw elsewhere), dynamically binarized MNIST in shuffled batches of 128,
Adam 1e-3, written in plain PyTorch the way a PyTorch user would write it;
--autoregressive-kernel K adds vae's autoregressive decoder term (a causal
K x K convolution of x added to the logits), --autoregressive-hidden H its
H gated units on the same window, --autoregressive-gates-read-z gates that
also read the pixel's logit, --autoregressive-features F a first masked layer
of F gated feature maps that those gates also read through a causal K' x K'
window (PixelCNN's mask B, --autoregressive-feature-kernel K').
Prints the training seconds of each epoch and the median; --json writes them
for scripts/bench_hierarchy.sh.

Needs python3-torch (Debian); reads the project's gzip IDX files directly.
"""
import argparse
import gzip
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


def mlp(sizes, activation):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers[:-1])  # no activation after the last


def causal_mask(size, centre):
    """PixelCNN's mask A (rows above, centre row left of the centre), with
    `centre` mask B (the centre too), [1, 1, size, size]."""
    mask = torch.zeros(1, 1, size, size)
    mask[:, :, :size // 2] = 1
    mask[:, :, size // 2, :size // 2 + (1 if centre else 0)] = 1
    return mask


def log_normal(z, mu, lv):  # per element
    return -0.5 * ((z - mu).pow(2) * torch.exp(-lv) + lv + LOG_2PI)


class TwoLayerVAE(nn.Module):
    def __init__(self, ladder, kernel=0, hidden=0, read_z=False, features=0, feature_kernel=5):
        super().__init__()
        self.ladder = ladder
        self.kernel = kernel
        self.hidden = hidden
        if kernel:  # vae's --autoregressive-kernel: a causal conv of x, PixelCNN's mask A
            self.context = nn.Parameter(torch.zeros(1, 1, kernel, kernel))
            self.register_buffer("mask", causal_mask(kernel, False))
        if hidden:  # --autoregressive-hidden: gated units on the same window, no biases
            bound = 1.0 / kernel
            self.gate = nn.Parameter(torch.empty(2 * hidden, 1, kernel, kernel).uniform_(-bound, bound))
            self.out = nn.Parameter(torch.zeros(1, hidden, 1, 1))
        self.read_z = read_z
        if read_z:  # --autoregressive-gates-read-z: the gates also read the logit
            self.logit = nn.Parameter(torch.zeros(1, 2 * hidden, 1, 1))
        self.features = features
        if features:  # --autoregressive-features: a first gated layer under the gates
            bound = 1.0 / kernel
            self.feature = nn.Parameter(
                torch.empty(2 * features, 1, kernel, kernel).uniform_(-bound, bound))
            self.feature_gate = nn.Parameter(
                torch.zeros(2 * hidden, features, feature_kernel, feature_kernel))
            self.register_buffer("mask_b", causal_mask(feature_kernel, True))
        self.encoder = mlp([784, 200, 200, 200], nn.ReLU)     # -> (mu1, logvar1)
        self.decoder = mlp([100, 200, 200, 784], nn.ReLU)     # z1 -> logits
        self.up = mlp([200 if ladder else 100, 100, 100, 100], nn.Tanh)   # -> layer 2's q
        self.down = mlp([50, 100, 100, 200], nn.Tanh)         # z2 -> p(z1|z2)

    def forward(self, x):
        stats = self.encoder(x)
        mu1, lv1 = stats.chunk(2, -1)
        if not self.ladder:
            z1 = mu1 + torch.exp(0.5 * lv1) * torch.randn_like(mu1)
            mu2, lv2 = self.up(z1).chunk(2, -1)
            z2 = mu2 + torch.exp(0.5 * lv2) * torch.randn_like(mu2)
            mp, lp = self.down(z2).chunk(2, -1)
            kl1 = (log_normal(z1, mu1, lv1) - log_normal(z1, mp, lp)).sum(-1)
        else:
            mu2, lv2 = self.up(stats).chunk(2, -1)
            z2 = mu2 + torch.exp(0.5 * lv2) * torch.randn_like(mu2)
            mp, lp = self.down(z2).chunk(2, -1)
            lq = -torch.logaddexp(-lv1, -lp)
            mq = mu1 * torch.exp(lq - lv1) + mp * torch.exp(lq - lp)
            z1 = mq + torch.exp(0.5 * lq) * torch.randn_like(mq)
            kl1 = (0.5 * (lp - lq + (torch.exp(lq) + (mq - mp).pow(2)) * torch.exp(-lp) - 1)).sum(-1)
        kl2 = (0.5 * (mu2.pow(2) + lv2.exp() - 1 - lv2)).sum(-1)
        logits = self.decoder(z1)
        if self.kernel:
            image = x.view(-1, 1, 28, 28)
            logits = logits + F.conv2d(image, self.context * self.mask,
                                       padding=self.kernel // 2).view(-1, 784)
        if self.hidden:
            ab = F.conv2d(image, self.gate * self.mask, padding=self.kernel // 2)
            if self.features:
                fa, fb = F.conv2d(image, self.feature * self.mask,
                                  padding=self.kernel // 2).chunk(2, 1)
                ab = ab + F.conv2d(torch.tanh(fa) * torch.sigmoid(fb),
                                   self.feature_gate * self.mask_b,
                                   padding=self.feature_gate.size(-1) // 2)
            if self.read_z:
                ab = ab + self.logit * logits.view(-1, 1, 28, 28)
            a, b = ab.chunk(2, 1)
            logits = logits + F.conv2d(torch.tanh(a) * torch.sigmoid(b), self.out).view(-1, 784)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        return (recon + kl1 + kl2).mean()


def read_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).reshape(n, 784)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inference", choices=["bottom-up", "ladder"], default="bottom-up")
    parser.add_argument("--autoregressive-kernel", type=int, default=0)
    parser.add_argument("--autoregressive-hidden", type=int, default=0)
    parser.add_argument("--autoregressive-gates-read-z", action="store_true")
    parser.add_argument("--autoregressive-features", type=int, default=0)
    parser.add_argument("--autoregressive-feature-kernel", type=int, default=5)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = read_images(os.path.join(args.data_dir, "train-images-idx3-ubyte.gz")).float() / 255
    model = TwoLayerVAE(args.inference == "ladder", args.autoregressive_kernel,
                        args.autoregressive_hidden, args.autoregressive_gates_read_z,
                        args.autoregressive_features, args.autoregressive_feature_kernel)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss_sum = 0.0
        for batch in torch.randperm(len(images)).split(128):
            x = torch.bernoulli(images[batch])  # dynamic binarization
            optimizer.zero_grad()
            loss = model(x)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(batch)
        total = time.perf_counter() - start
        epochs.append({"epoch": epoch, "seconds": total, "train_neg_elbo": loss_sum / len(images)})
        print(f"epoch {epoch}: {total:.3f} s, train -ELBO {loss_sum / len(images):.2f}", flush=True)
    median = statistics.median(e["seconds"] for e in epochs)
    print(f"median epoch: {median:.3f} s ({len(images)} images, batch 128, {args.threads} threads, "
          f"torch {torch.__version__})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"epochs": epochs, "median_seconds": median, "torch": torch.__version__,
                       "threads": args.threads, "inference": args.inference,
                       "autoregressive_kernel": args.autoregressive_kernel,
                       "autoregressive_hidden": args.autoregressive_hidden,
                       "autoregressive_gates_read_z": args.autoregressive_gates_read_z,
                       "autoregressive_features": args.autoregressive_features,
                       "autoregressive_feature_kernel": args.autoregressive_feature_kernel},
                      out, indent=2)


if __name__ == "__main__":
    main()
