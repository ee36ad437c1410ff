#!/usr/bin/env python3
"""The peer that `vae bench` is compared with: a VAE trained the way the
PyTorch examples repository trains it (examples/vae/main.py): torchvision's
MNIST with transforms.ToTensor(), a DataLoader (batch 128, shuffled), the
784-400-20 MLP with separate mu/logvar heads, BCE (sum) + KL, Adam 1e-3.
Written here from that description, not copied. Prints the training seconds
of each epoch, the part of it spent waiting for the data loader, and the
median; --json writes them for scripts/bench.sh.

Needs python3-torch and python3-torchvision (Debian). MNIST is read from the
project's gzip IDX files, unpacked into a temporary folder in the layout
torchvision expects.
"""
import argparse
import gzip
import json
import os
import shutil
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets, transforms


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def loss_function(recon, x, mu, logvar):
    bce = F.binary_cross_entropy(recon, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def mnist_root(data_dir):
    root = tempfile.mkdtemp(prefix="vae-peer-")
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        with gzip.open(os.path.join(data_dir, name + ".gz"), "rb") as src, \
                open(os.path.join(raw, name), "wb") as dst:
            shutil.copyfileobj(src, dst)
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    root = mnist_root(args.data_dir)
    try:
        train = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
        loader = torch.utils.data.DataLoader(train, batch_size=128, shuffle=True)
        model = VAE()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        epochs = []
        for epoch in range(1, args.epochs + 1):
            model.train()
            total, waiting, loss_sum = 0.0, 0.0, 0.0
            start = time.perf_counter()
            batches = iter(loader)
            while True:
                t0 = time.perf_counter()
                try:
                    x, _ = next(batches)
                except StopIteration:
                    break
                waiting += time.perf_counter() - t0
                optimizer.zero_grad()
                recon, mu, logvar = model(x)
                loss = loss_function(recon, x, mu, logvar)
                loss.backward()
                loss_sum += loss.item()
                optimizer.step()
            total = time.perf_counter() - start
            epochs.append({"epoch": epoch, "seconds": total, "data_seconds": waiting,
                           "train_loss": loss_sum / len(train)})
            print(f"epoch {epoch}: {total:.3f} s of training ({waiting:.3f} s waiting for data), "
                  f"loss {loss_sum / len(train):.2f}", flush=True)
        median = statistics.median(e["seconds"] for e in epochs)
        print(f"median epoch: {median:.3f} s ({len(train)} images, batch 128, "
              f"{args.threads} threads, torch {torch.__version__})")
        if args.json:
            with open(args.json, "w") as out:
                json.dump({"epochs": epochs, "median_seconds": median,
                           "torch": torch.__version__, "threads": args.threads}, out, indent=2)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
