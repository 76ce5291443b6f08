#!/usr/bin/python3
"""scikit-learn peer of bench/tsne.bench.ts: times sklearn.manifold.TSNE on the suite's points.

    OMP_NUM_THREADS=N /usr/bin/python3 bench/peers/sklearn_tsne.py --points pts.f32 --n N --d D \
        --method exact|barnes_hut --iterations I --perplexity P --threads N --out emb.f32

--points: raw little-endian float32 [n, d]; --out: the embedding as raw float32 [n, 2], so the
suite scores both embeddings with the same trustworthiness. Settings as worldkit's defaults:
init='pca', learning_rate='auto', early_exaggeration=12, angle (theta) 0.5, random_state 0,
n_jobs=threads (OMP_NUM_THREADS sets the Barnes-Hut gradient's threads). stdout: one JSON line
{"ms": fit_transform wall time, "kl": kl_divergence_, "sklearn": version}.
"""
import argparse
import json
import time

import numpy as np
import sklearn
from sklearn.manifold import TSNE

p = argparse.ArgumentParser()
p.add_argument("--points", required=True)
p.add_argument("--n", type=int, required=True)
p.add_argument("--d", type=int, required=True)
p.add_argument("--method", choices=["exact", "barnes_hut"], required=True)
p.add_argument("--iterations", type=int, default=1000)
p.add_argument("--perplexity", type=float, default=30.0)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--out", required=True)
a = p.parse_args()

X = np.fromfile(a.points, dtype="<f4").reshape(a.n, a.d)
model = TSNE(n_components=2, perplexity=a.perplexity, n_iter=a.iterations, init="pca", learning_rate="auto",
             early_exaggeration=12.0, method=a.method, angle=0.5, random_state=0, n_jobs=a.threads)
t0 = time.perf_counter()
emb = model.fit_transform(X)
ms = (time.perf_counter() - t0) * 1e3
np.ascontiguousarray(emb, dtype="<f4").tofile(a.out)
print(json.dumps({"ms": ms, "kl": float(model.kl_divergence_), "sklearn": sklearn.__version__}))
