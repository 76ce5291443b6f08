/**
 * t-SNE (cpp/tsne.cpp) at the sizes the report embeds: latent-sized points (D=1024, 10 Gaussian
 * clusters, as VAE latents of a few situations), exact at N=1000 and Barnes-Hut at N=5000, with
 * scikit-learn's TSNE on the same points and settings as the peer where /usr/bin/python3 has
 * sklearn (bench/peers/sklearn_tsne.py; perplexity 30, init 'pca', learning rate 'auto', early
 * exaggeration 12, theta/angle 0.5, n_jobs and OMP_NUM_THREADS = the run's threads).
 *
 * Each case is one whole call (affinities + PCA init + every iteration) timed once: calls last
 * seconds, and the peer's run dominates the suite's time. The peer always runs Barnes-Hut (its
 * default; its exact method is numpy over N^2 matrices, minutes at N=1000), the row says which
 * method each side used. Both embeddings are scored with the same wk trustworthiness (k=5),
 * noted in the row. Iterations: 1000 for the exact row, 250 (the early-exaggeration phase only)
 * for the N=5000 row to keep the suite near a minute; --quick: 50 and no peer.
 *
 *   node dist/bench/run.js --filter tsne
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { trustworthiness, tsne } from '../src/diagnostics/tsne';
import { BenchRow, PYTHON, SuiteOptions, addPeer, findPeer, row, summarize } from './harness';
import { peerConfig } from './peer_env';

/** 10 Gaussian clusters (centres N(0, 0.3^2), spread 0.1) of N points in D dims; seeded. */
export function latentClusters(n: number, d: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const g = () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const centres = Array.from({ length: 10 }, () => Float32Array.from({ length: d }, () => 0.3 * g()));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; ++i) for (let j = 0; j < d; ++j) x[i * d + j] = centres[i % 10][j] + 0.1 * g();
  return x;
}

let sklearnVersionCache: string | null | undefined;
/** scikit-learn's version for /usr/bin/python3, or null when it cannot import sklearn. */
export function sklearnVersion(): string | null {
  if (sklearnVersionCache !== undefined) return sklearnVersionCache;
  if (!fs.existsSync(PYTHON)) return (sklearnVersionCache = null);
  const r = spawnSync(PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' });
  return (sklearnVersionCache = r.status === 0 ? r.stdout.trim() : null);
}

interface PeerRun {
  ms: number;
  kl: number;
  embedding: Float32Array;
}

function runSklearn(x: Float32Array, n: number, d: number, iterations: number, threads: number, log: (s: string) => void): PeerRun | null {
  const script = findPeer('sklearn_tsne.py');
  if (!script) {
    log('sklearn peer skipped: bench/peers/sklearn_tsne.py not found');
    return null;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-tsne-bench-'));
  try {
    const pts = path.join(dir, 'points.f32'), out = path.join(dir, 'embedding.f32');
    fs.writeFileSync(pts, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    const args = [script, '--points', pts, '--n', String(n), '--d', String(d), '--method', 'barnes_hut', '--iterations', String(iterations), '--threads', String(threads), '--out', out];
    const r = spawnSync(PYTHON, args, { env: peerConfig('python', threads).env, encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) {
      log(`sklearn peer failed: ${(r.stderr || '').slice(-600)}`);
      return null;
    }
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) return null;
    const res = JSON.parse(line) as { ms: number; kl: number };
    const buf = fs.readFileSync(out);
    const embedding = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    return { ms: res.ms, kl: res.kl, embedding };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function tsneBench(opts: Partial<SuiteOptions> = {}): BenchRow[] {
  const quick = !!opts.quick;
  const log = opts.log ?? ((s: string) => console.log(s));
  const threads = opts.threads ?? 2;
  const sk = opts.peers === false || quick ? null : sklearnVersion();
  if (!quick && opts.peers !== false && !sk) log(`sklearn peer skipped: ${PYTHON} cannot import sklearn (Debian: apt-get install python3-sklearn)`);
  const cases = [
    { method: 'exact' as const, n: 1000, d: 1024, iterations: quick ? 50 : 1000 },
    { method: 'barnes-hut' as const, n: 5000, d: 1024, iterations: quick ? 50 : 250 },
  ];
  const rows: BenchRow[] = [];
  for (const c of cases) {
    const x = latentClusters(c.n, c.d, 1);
    const t0 = process.hrtime.bigint();
    const r = tsne(x, { dim: c.d, method: c.method, iterations: c.iterations, perplexity: 30, seed: 0 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const tw = trustworthiness(x, r.embedding, c.n, 5);
    const notes = [`worldkit ${c.method}: T(5) ${tw.toFixed(4)}, KL ${r.klDivergence.toFixed(3)}`];
    const out = row('tsne', `t-SNE ${c.method}, ${c.iterations} iterations`, `N=${c.n} D=${c.d} perplexity 30`, summarize([ms], 'single'), {
      items: c.n,
      itemUnit: 'points',
      extra: { method: c.method, iterations: c.iterations, trustworthiness5: tw, klDivergence: r.klDivergence },
    });
    if (sk) {
      const p = runSklearn(x, c.n, c.d, c.iterations, threads, log);
      if (p) {
        const pt = trustworthiness(x, p.embedding, c.n, 5);
        addPeer(out, `sklearn ${sk} barnes_hut`, p.ms);
        notes.push(`sklearn barnes_hut: T(5) ${pt.toFixed(4)}, KL ${p.kl < 1e300 ? p.kl.toFixed(3) : 'not computed (no step after the exaggeration)'}`);
        out.extra = { ...out.extra, sklearn: { version: sk, method: 'barnes_hut', ms: p.ms, trustworthiness5: pt, klDivergence: p.kl } };
      }
    }
    out.note = notes.join('; ');
    log(`${out.op} ${out.shape}: ${ms.toFixed(0)} ms; ${out.note}${out.peers ? `; sklearn ${out.peers[0].ms.toFixed(0)} ms` : ''}`);
    rows.push(out);
  }
  return rows;
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { formatTable } = require('./harness');
  console.log(formatTable(tsneBench({ quick, peers: true })));
}
