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
import json
import sys

from torch_common import median_ms, start

torch, args = start()


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
        print(json.dumps({"id": c["id"], "ms": median_ms(case(c), args.quick)}), flush=True)
    except Exception as e:  # one failing case must not lose the others
        print(json.dumps({"id": c["id"], "error": str(e)}), flush=True)
