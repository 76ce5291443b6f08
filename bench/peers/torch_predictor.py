#!/usr/bin/env python3
"""PyTorch peer of bench/lstm.bench.ts: the latent predictor's training step and rollout.

    env $(node dist-bench/bench/peer_env.js torch N) /usr/bin/python3 bench/peers/torch_predictor.py [--threads N] [--quick]

(the environment the bench gives it: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc;
bench/peer_env.ts)

(tcmalloc: with glibc malloc PyTorch 1.13's step times are bimodal on this machine.)
The model matches worldkit's LatentPredictor: LSTM over concat(z_t, a_t), Linear head to dz,
z_{t+1} = z_t + dz, MSE on z[:,1:], Adam. Variants:
  nn.LSTM        teacher forcing with the cuDNN-style fused nn.LSTM
  LSTMCell loop  teacher forcing stepping an nn.LSTMCell (what scheduled sampling needs)
  scheduled      LSTMCell loop, per-sample Bernoulli(pTrue) choice of true vs predicted input
  rollout        16-step open loop under no_grad
Prints one JSON object per line: {"name", "B", "H", "ms"} (median of timed repeats).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--quick", action="store_true")
p.add_argument("--T", type=int, default=16)
p.add_argument("--latent", type=int, default=1024)
p.add_argument("--action", type=int, default=3)
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
T, D, A = args.T, args.latent, args.action


class Predictor(nn.Module):
    def __init__(self, H):
        super().__init__()
        self.lstm = nn.LSTM(D + A, H, batch_first=True)
        self.cell = nn.LSTMCell(D + A, H)
        self.head = nn.Linear(H, D)

    def teacher_lstm(self, z, a):
        x = torch.cat([z[:, :-1], a[:, :-1]], -1)
        y, _ = self.lstm(x)
        return z[:, :-1] + self.head(y)

    def teacher_cell(self, z, a):
        B = z.shape[0]
        h = z.new_zeros(B, self.cell.hidden_size)
        c = z.new_zeros(B, self.cell.hidden_size)
        preds = []
        for t in range(z.shape[1] - 1):
            h, c = self.cell(torch.cat([z[:, t], a[:, t]], -1), (h, c))
            preds.append(z[:, t] + self.head(h))
        return torch.stack(preds, 1)

    def scheduled(self, z, a, p_true):
        B = z.shape[0]
        h = z.new_zeros(B, self.cell.hidden_size)
        c = z.new_zeros(B, self.cell.hidden_size)
        preds, prev = [], None
        for t in range(z.shape[1] - 1):
            zin = z[:, t]
            if prev is not None:
                coin = (torch.rand(B, 1) < p_true).float()
                zin = coin * z[:, t] + (1 - coin) * prev
            h, c = self.cell(torch.cat([zin, a[:, t]], -1), (h, c))
            prev = zin + self.head(h)
            preds.append(prev)
        return torch.stack(preds, 1)

    @torch.no_grad()
    def rollout(self, z0, a, horizon):
        B = z0.shape[0]
        h = z0.new_zeros(B, self.cell.hidden_size)
        c = z0.new_zeros(B, self.cell.hidden_size)
        z, out = z0, []
        for t in range(horizon):
            h, c = self.cell(torch.cat([z, a[:, t]], -1), (h, c))
            z = z + self.head(h)
            out.append(z)
        return torch.stack(out, 1)


def timeit(fn, reps, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


reps, warm = (5, 2) if args.quick else (30, 5)
for B, H in [(4, 256), (32, 256), (32, 512)]:
    m = Predictor(H)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    z = torch.randn(B, T, D)
    a = torch.randn(B, T, A)

    def step(fwd):
        def run():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(fwd(), z[:, 1:])
            loss.backward()
            opt.step()
        return run

    for name, fwd in [("teacher nn.LSTM", lambda: m.teacher_lstm(z, a)),
                      ("teacher LSTMCell loop", lambda: m.teacher_cell(z, a)),
                      ("scheduled LSTMCell loop p=0.5", lambda: m.scheduled(z, a, 0.5))]:
        print(json.dumps({"name": name, "B": B, "H": H, "ms": timeit(step(fwd), reps, warm)}), flush=True)
    if B == 32 and H == 256:
        print(json.dumps({"name": "rollout 16 steps", "B": B, "H": H,
                          "ms": timeit(lambda: m.rollout(z[:, 0], a, 16), reps, warm)}), flush=True)
