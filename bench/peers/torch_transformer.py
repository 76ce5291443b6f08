#!/usr/bin/env python3
"""PyTorch peer of bench/transformer.bench.ts: worldkit's LatentTransformer built from
nn.TransformerEncoderLayer (pre-norm, GELU, batch_first), a block-causal mask (every token of
frame t sees the tokens of frames <= t), tokens = an action token + 16 latent tokens of 64 values
per frame, learned space and time embeddings, a Linear head to the increment, MSE, Adam.

    env $(node dist/bench/peer_env.js torch N) /usr/bin/python3 bench/peers/torch_transformer.py --threads N [--quick] < shape.json

(the environment the bench gives it: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc;
bench/peer_env.ts). stdin: {"B", "T", "C", "S", "A", "d", "layers", "heads"}. stdout: one JSON
object per line {"id", "variant", "ms"} (median of timed repeats):
  teacher    train step, teacher forcing: one encoder pass over the T-1 input frames
  scheduled  train step, scheduled sampling p=0.5, frame by frame, twice: each step re-running
             the encoder over the frames so far (nn.TransformerEncoder has no key/value cache),
             and the hand-written key/value cache below with the gradient through it (the
             faster one is PyTorch at its best; both are printed)
  rollout    16 imagined steps from 1 context frame under no_grad, twice: re-running the encoder
             each step, and a hand-written key/value cache over the same layers' weights (the
             faster one is PyTorch at its best; both are printed)
Without torch it prints "skipped: torch not installed" and exits 0.
"""
import json
import math
import sys

from torch_common import median_ms, start

torch, args = start()
import torch.nn as nn  # noqa: E402 (after the check that torch is installed)
import torch.nn.functional as F  # noqa: E402

cfg = json.load(sys.stdin)
B, T, C, S, A, d, L, H = (cfg[k] for k in ("B", "T", "C", "S", "A", "d", "layers", "heads"))
P = S + 1  # tokens per frame: the action token, then the latent tokens
D = C * S


def frame_mask(frames):
    """Additive mask [N, N]: token i sees token j iff frame(j) <= frame(i)."""
    f = torch.arange(frames * P) // P
    return torch.where(f[None, :] <= f[:, None], 0.0, float("-inf"))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.token = nn.Linear(C, d)
        self.action = nn.Linear(A, d)
        self.space = nn.Parameter(torch.randn(P, d) * 0.02)
        self.time = nn.Parameter(torch.randn(32, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, H, 4 * d, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, L, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, C)

    def embed(self, z, a, t0):
        Bn, Fn = z.shape[:2]
        tok = self.token(z.view(Bn, Fn, C, S).transpose(2, 3))
        x = torch.cat([self.action(a).unsqueeze(2), tok], 2) + self.space + self.time[t0 : t0 + Fn, None]
        return x.reshape(Bn, Fn * P, d)

    def out(self, x, z):
        Bn, Fn = z.shape[:2]
        y = self.head(self.norm(x).view(Bn, Fn, P, d)[:, :, 1:])
        return z + y.transpose(2, 3).reshape(Bn, Fn, D)

    def forward(self, z, a):
        Fn = z.shape[1]
        return self.out(self.encoder(self.embed(z, a, 0), mask=frame_mask(Fn)), z)

    # -- the hand-written key/value cache over the encoder layers' weights -------------------
    def cached_step(self, x, cache):
        """x [B, n, d]: the new frame's tokens; cache: per layer [k, v] [B, H, N, dh] or None."""
        Bn, n, _ = x.shape
        dh = d // H
        for i, layer in enumerate(self.encoder.layers):
            h = layer.norm1(x)
            q, k, v = F.linear(h, layer.self_attn.in_proj_weight, layer.self_attn.in_proj_bias).chunk(3, -1)
            q, k, v = (t.view(Bn, n, H, dh).transpose(1, 2) for t in (q, k, v))
            if cache[i] is not None:
                k = torch.cat([cache[i][0], k], 2)
                v = torch.cat([cache[i][1], v], 2)
            cache[i] = (k, v)
            # the new frame's queries see every cached key (their own frame included)
            w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1)
            o = (w @ v).transpose(1, 2).reshape(Bn, n, d)
            x = x + layer.self_attn.out_proj(o)
            x = x + layer.linear2(F.gelu(layer.linear1(layer.norm2(x))))
        return x


m = Model()
opt = torch.optim.Adam(m.parameters(), lr=1e-4)
z = torch.randn(B, T, D)
a = torch.randn(B, T + 16, A)


def teacher():
    opt.zero_grad()
    pred = m(z[:, :-1], a[:, : T - 1])
    F.mse_loss(pred, z[:, 1:]).backward()
    opt.step()


def scheduled():
    opt.zero_grad()
    inputs = [z[:, 0]]
    preds = []
    for t in range(T - 1):
        zin = torch.stack(inputs, 1)
        pred = m(zin, a[:, : t + 1])[:, -1]
        preds.append(pred)
        if t + 1 < T - 1:
            coin = (torch.rand(B, 1) < 0.5).float()
            inputs.append(coin * z[:, t + 1] + (1 - coin) * pred)
    F.mse_loss(torch.stack(preds, 1), z[:, 1:]).backward()
    opt.step()


def scheduled_cached():
    opt.zero_grad()
    cache = [None] * L
    cur = z[:, :1]
    preds = []
    for t in range(T - 1):
        pred = m.out(m.cached_step(m.embed(cur, a[:, t : t + 1], t), cache), cur)
        preds.append(pred)
        if t + 1 < T - 1:
            coin = (torch.rand(B, 1, 1) < 0.5).float()
            cur = coin * z[:, t + 1 : t + 2] + (1 - coin) * pred
    F.mse_loss(torch.cat(preds, 1), z[:, 1:]).backward()
    opt.step()


def rollout_rerun():
    with torch.no_grad():
        frames = [z[:, 0]]
        for t in range(16):
            frames.append(m(torch.stack(frames, 1), a[:, : t + 1])[:, -1])


def rollout_cached():
    with torch.no_grad():
        cache = [None] * L
        cur = z[:, :1]
        for t in range(16):
            x = m.cached_step(m.embed(cur, a[:, t : t + 1], t), cache)
            cur = m.out(x, cur)


quick = args.quick
print(json.dumps({"id": "teacher", "variant": "nn.TransformerEncoder teacher forcing", "ms": median_ms(teacher, quick)}), flush=True)
print(json.dumps({"id": "scheduled", "variant": "nn.TransformerEncoder re-run per frame p=0.5", "ms": median_ms(scheduled, quick)}), flush=True)
print(json.dumps({"id": "scheduled", "variant": "scheduled sampling p=0.5, hand-written KV cache", "ms": median_ms(scheduled_cached, quick)}), flush=True)
m.eval()
print(json.dumps({"id": "rollout", "variant": "rollout, encoder re-run per step", "ms": median_ms(rollout_rerun, quick)}), flush=True)
print(json.dumps({"id": "rollout", "variant": "rollout, hand-written KV cache", "ms": median_ms(rollout_cached, quick)}), flush=True)
