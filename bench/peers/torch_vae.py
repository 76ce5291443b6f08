#!/usr/bin/env python3
"""PyTorch peer of bench/vae.bench.ts: the default ConvVAE's training step and encoder forward.

    env $(node dist-bench/bench/peer_env.js torch N) /usr/bin/python3 bench/peers/torch_vae.py [--threads N] [--quick] [--B 32]

(the environment the bench gives it: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc;
bench/peer_env.ts)

The model is worldkit's default ConvVAE (the same module as test/fixtures/make_torch_fixtures_conv.py):
encoder Conv2d 4x4 stride 2 padding 1, 3->32->64->128->256 with ReLU, heads Conv2d(256,64,3,p1)
for mu and logvar, decoder Conv2d(64,256,3,p1) ReLU then ConvTranspose2d 4x4 stride 2 padding 1,
256->128->64->32->3, sigmoid; loss = sum MSE / N + mean KL; Adam.
Prints one JSON object per line: {"name", "B", "ms"} (median of timed repeats).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--quick", action="store_true")
p.add_argument("--B", type=int, default=32)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


class ConvVAE(nn.Module):
    def __init__(self, channels=(32, 64, 128, 256), latent=64, in_ch=3):
        super().__init__()
        enc, c = [], in_ch
        for oc in channels:
            enc += [nn.Conv2d(c, oc, 4, stride=2, padding=1), nn.ReLU()]
            c = oc
        self.encoder = nn.Sequential(*enc)
        self.mu = nn.Conv2d(c, latent, 3, padding=1)
        self.logvar = nn.Conv2d(c, latent, 3, padding=1)
        self.decoder_in = nn.Conv2d(latent, c, 3, padding=1)
        dec, outs = [], list(reversed(channels[:-1])) + [in_ch]
        for i, oc in enumerate(outs):
            dec.append(nn.ConvTranspose2d(c, oc, 4, stride=2, padding=1))
            if i < len(outs) - 1:
                dec.append(nn.ReLU())
            c = oc
        self.decoder = nn.Sequential(*dec)

    def encode(self, x):
        f = self.encoder(x)
        return self.mu(f), self.logvar(f)

    def loss(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = torch.sigmoid(self.decoder(F.relu(self.decoder_in(z))))
        rec = ((recon - x) ** 2).sum() / x.shape[0]
        kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).flatten(1).sum(1)).mean()
        return rec + kl


def timeit(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


m = ConvVAE()
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
x = torch.rand(args.B, 3, 64, 64)
reps = 2 if args.quick else 10


def step():
    opt.zero_grad(set_to_none=True)
    m.loss(x).backward()
    opt.step()


def enc():
    with torch.no_grad():
        m.encode(x)


print(json.dumps({"name": "train step", "B": args.B, "ms": timeit(step, reps)}), flush=True)
print(json.dumps({"name": "encode", "B": args.B, "ms": timeit(enc, reps * 3)}), flush=True)
