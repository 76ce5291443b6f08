#!/usr/bin/env python3
"""PyTorch peer of bench/attention.bench.ts: block-causal attention as softmax(Q Kᵀ·scale + mask) V
with plain matmuls (no scaled_dot_product_attention), forward under no_grad, and forward +
backward (the gradients of q, k and v) through autograd, at the shapes the suite sends.

    env $(node dist/bench/peer_env.js torch N) /usr/bin/python3 bench/peers/torch_attention.py --threads N [--quick] < cases.json

(the environment the bench gives it: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc;
bench/peer_env.ts). stdin: a JSON array of {"id", B, nH, Tq, Tk, dh, tokensPerFrame, backward};
stdout: one JSON object per line {"id", "ms"} (median of timed repeats). Query i sits at position
i + Tk - Tq and sees key j iff j // tokensPerFrame <= position // tokensPerFrame, as in worldkit.
Without torch it prints "skipped: torch not installed" and exits 0.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
except ImportError:
    print("skipped: torch not installed", file=sys.stderr)
    print(json.dumps({"skipped": "torch not installed"}), flush=True)
    sys.exit(0)

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--quick", action="store_true")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)


def timeit(fn, quick):
    if quick:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3
    fn()
    t = time.perf_counter()
    fn()
    one = time.perf_counter() - t
    reps = max(1, int(0.005 / max(one, 1e-7)))
    samples = []
    start = time.perf_counter()
    while len(samples) < 10 or (time.perf_counter() - start < 2.0 and len(samples) < 100):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t) * 1e3 / reps)
    return statistics.median(samples)


def case(c):
    B, nH, Tq, Tk, dh, bs = c["B"], c["nH"], c["Tq"], c["Tk"], c["dh"], c["tokensPerFrame"]
    scale = dh ** -0.5
    pos = torch.arange(Tq) + (Tk - Tq)
    visible = (torch.arange(Tk)[None, :] // bs) <= (pos[:, None] // bs)
    mask = torch.zeros(Tq, Tk).masked_fill(~visible, float("-inf"))  # additive, built once
    q = torch.randn(B, nH, Tq, dh, requires_grad=c["backward"])
    k = torch.randn(B, nH, Tk, dh, requires_grad=c["backward"])
    v = torch.randn(B, nH, Tk, dh, requires_grad=c["backward"])

    def attend():
        s = torch.matmul(q, k.transpose(-1, -2)) * scale + mask
        return torch.matmul(torch.softmax(s, dim=-1), v)

    if not c["backward"]:
        def fwd():
            with torch.no_grad():
                attend()
        return fwd
    g = torch.randn(B, nH, Tq, dh)

    def fwd_bwd():
        q.grad = k.grad = v.grad = None
        torch.autograd.backward([attend()], [g])
    return fwd_bwd


for c in json.load(sys.stdin):
    try:
        print(json.dumps({"id": c["id"], "ms": timeit(case(c), args.quick)}), flush=True)
    except Exception as e:  # one failing case must not lose the others
        print(json.dumps({"id": c["id"], "error": str(e)}), flush=True)
