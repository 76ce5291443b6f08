#!/usr/bin/env python3
"""PyTorch peer of bench/conv.bench.ts and bench/kernels.bench.ts: single kernels at the shapes
the TypeScript suites send.

    env $(node dist-bench/bench/peer_env.js torch N) /usr/bin/python3 bench/peers/torch_kernels.py --threads N [--quick] < cases.json

(the environment the bench gives it: OpenMP OpenBLAS, kernels from the CPU flags, tcmalloc;
bench/peer_env.ts)

stdin: a JSON array of {"id", "kind", ...params}; stdout: one JSON object per line {"id", "ms"}
(median of timed repeats). Backward passes are timed alone: convolutions through
aten.convolution_backward, the rest by re-running autograd backward on a retained graph.
kinds: conv2d_fwd/conv2d_bwd (N,C,H,W,K,k,s,p, gx), convT_fwd/convT_bwd (N,Cin,H,W,Cout,k,s,p),
lstm_cell_fwd/lstm_cell_bwd (B,I,H), lstm_seq_fwd/lstm_seq_bwd (T,B,I,H), head_fwd/head_bwd (R,D,K),
mse_fwd/mse_bwd (B,D), adam (n).
"""
import json
import sys

from torch_common import median_ms, start

torch, args = start()
import torch.nn.functional as F  # noqa: E402 (after the check that torch is installed)


def case(c):
    k = c["kind"]
    r = torch.randn
    if k in ("conv2d_fwd", "conv2d_bwd"):
        x = r(c["N"], c["C"], c["H"], c["W"])
        w = r(c["K"], c["C"], c["k"], c["k"]) * 0.05
        b = r(c["K"])
        s, pd = c["s"], c["p"]
        if k == "conv2d_fwd":
            return lambda: F.conv2d(x, w, b, s, pd)
        y = F.conv2d(x, w, b, s, pd)
        g = r(*y.shape)
        mask = [bool(c.get("gx", True)), True, True]
        return lambda: torch.ops.aten.convolution_backward(g, x, w, [c["K"]], [s, s], [pd, pd], [1, 1], False, [0, 0], 1, mask)
    if k in ("convT_fwd", "convT_bwd"):
        x = r(c["N"], c["Cin"], c["H"], c["W"])
        w = r(c["Cin"], c["Cout"], c["k"], c["k"]) * 0.05
        b = r(c["Cout"])
        s, pd = c["s"], c["p"]
        if k == "convT_fwd":
            return lambda: F.conv_transpose2d(x, w, b, s, pd)
        y = F.conv_transpose2d(x, w, b, s, pd)
        g = r(*y.shape)
        return lambda: torch.ops.aten.convolution_backward(g, x, w, [c["Cout"]], [s, s], [pd, pd], [1, 1], True, [0, 0], 1, [True, True, True])
    if k in ("lstm_cell_fwd", "lstm_cell_bwd"):
        B, I, H = c["B"], c["I"], c["H"]
        cell = torch.nn.LSTMCell(I, H)
        x, h, cc = r(B, I, requires_grad=True), r(B, H, requires_grad=True), r(B, H, requires_grad=True)
        if k == "lstm_cell_fwd":
            return lambda: cell(x, (h, cc))
        h2, c2 = cell(x, (h, cc))
        gh, gc = r(B, H), r(B, H)
        return lambda: torch.autograd.backward([h2, c2], [gh, gc], retain_graph=True)
    if k in ("lstm_seq_fwd", "lstm_seq_bwd"):
        T, B, I, H = c["T"], c["B"], c["I"], c["H"]
        lstm = torch.nn.LSTM(I, H, batch_first=True)
        x = r(B, T, I, requires_grad=True)
        if k == "lstm_seq_fwd":
            return lambda: lstm(x)
        y, _ = lstm(x)
        g = r(*y.shape)
        return lambda: torch.autograd.backward([y], [g], retain_graph=True)
    if k in ("head_fwd", "head_bwd"):
        R, D, K = c["R"], c["D"], c["K"]
        lin = torch.nn.Linear(K, D)
        z, h = r(R, D), r(R, K, requires_grad=True)
        if k == "head_fwd":
            return lambda: z + lin(h)
        y = z + lin(h)
        g = r(R, D)
        return lambda: torch.autograd.backward([y], [g], retain_graph=True)
    if k in ("mse_fwd", "mse_bwd"):
        a, t = r(c["B"], c["D"], requires_grad=True), r(c["B"], c["D"])
        if k == "mse_fwd":
            return lambda: F.mse_loss(a, t, reduction="mean")
        loss = F.mse_loss(a, t, reduction="mean")
        return lambda: loss.backward(retain_graph=True)
    if k == "adam":
        prm = torch.nn.Parameter(r(c["n"]))
        prm.grad = r(c["n"])
        opt = torch.optim.Adam([prm], lr=1e-4)
        return lambda: opt.step()
    raise ValueError("unknown kind " + k)


cases = json.load(sys.stdin)
for c in cases:
    try:
        fn = case(c)
        print(json.dumps({"id": c["id"], "ms": median_ms(fn, args.quick)}), flush=True)
    except Exception as e:  # one failing case must not lose the others
        print(json.dumps({"id": c["id"], "error": str(e)}), flush=True)
