"""What the PyTorch peers of the single-shape suites (torch_attention.py, torch_kernels.py,
torch_transformer.py) share: the command line (--threads N, --quick), torch's thread count and
seed, the "skipped" line when torch is missing, and one timing rule.

Timing: one warm-up call, then samples of enough back-to-back calls to last >= 5 ms each, at
least 10 samples and up to 2 s (100 samples at most); the median of the per-call times in ms.
--quick: one timed call after the warm-up (the numbers mean nothing; it checks the peer runs).
"""
import argparse
import json
import statistics
import sys
import time


def start():
    """Imports torch and parses the peer's flags: (torch, args). Without torch it prints the
    skipped line the bench reads and exits 0."""
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
    return torch, args


def median_ms(fn, quick):
    fn()
    if quick:
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    fn()
    reps = max(1, int(0.005 / max(time.perf_counter() - t, 1e-7)))
    samples = []
    begin = time.perf_counter()
    while len(samples) < 10 or (time.perf_counter() - begin < 2.0 and len(samples) < 100):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        samples.append((time.perf_counter() - t) * 1e3 / reps)
    return statistics.median(samples)
