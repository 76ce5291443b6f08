/**
 * `worldkit bench`: runs the suites under bench/ and prints one table.
 *
 *   node dist/bench/run.js [--filter a,b] [--json out.json] [--device cpu|cuda] [--threads N]
 *                                [--quick] [--no-peers] [--list]
 *
 * (`npm run build:bench` compiles bench into dist/bench/, beside the compiled library; `worldkit bench ...` and
 * `npm run bench` spawn this file.) First the machine probes (peak FMA GFLOP/s with 1 and N
 * threads, copy bandwidth), then each selected suite, then TF.js last. --filter takes suite names
 * (comma separated); a name also selects its sub-suites ('lstm' runs lstm and lstm-kernels,
 * 'scaling' both scaling grids). Before the suites, each peer the selected suites use is
 * calibrated (bench/peer_env.ts): a peer whose 1024² GEMM is below 70% of the measured peak is
 * marked handicapped, and no goal read against it can be met. See bench/README.md.
 */
import { execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import { native, packageRoot } from '../src/backend/native';
import { BenchRow, Peak, PeerTiming, SuiteOptions, cpuModel, formatTable, probePeak, torchVersion } from './harness';
import { Calibration, applyCalibrations, calibrateCblas, calibrateTorch, formatCalibration, peakAt } from './peer_env';

type SuiteFn = (opts: SuiteOptions) => BenchRow[] | Promise<BenchRow[]>;

interface Suite {
  name: string;
  what: string;
  load: () => SuiteFn | null;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRow = Record<string, any>;

/** Loads a suite module if present (suites are written concurrently; a missing one is skipped). */
function optionalModule(file: string): AnyRow | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(`./${file}`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(file)) return null;
    throw e;
  }
}

/** The suite's exported function: `name` if given, else the first export ending in 'Bench'. */
function pick(file: string, name?: string): SuiteFn | null {
  const m = optionalModule(file);
  if (!m) return null;
  const key = name ?? Object.keys(m).find((k) => /Bench$/.test(k) && typeof m[k] === 'function');
  return key && typeof m[key] === 'function' ? (m[key] as SuiteFn) : null;
}

/** Adapts a suite written before the common row format (its rows have their own shape). */
function adapt(suite: string, fn: SuiteFn | null, extra: (o: SuiteOptions) => Record<string, unknown> = () => ({})): SuiteFn | null {
  if (!fn) return null;
  return async (opts) => {
    // Suites take their own options; pass the common ones under the names they use.
    const out = await fn({ ...opts, torch: opts.peers, openblas: opts.peers, ...extra(opts) } as SuiteOptions);
    return (Array.isArray(out) ? out : []).map((r) => normalize(suite, r as AnyRow));
  };
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && isFinite(v) ? v : undefined;
}

/** Best effort: a row of any suite into BenchRow (fields named ms/medianMs/meanMs, gflops, peers/torch/openblas). */
export function normalize(suite: string, r: AnyRow): BenchRow {
  if (typeof r.suite === 'string' && typeof r.op === 'string' && typeof r.ms === 'number') return r as BenchRow;
  const ms = num(r.ms) ?? num(r.medianMs) ?? num(r.median) ?? num(r.meanMs) ?? num(r.timeMs) ?? NaN;
  const dims = ['M', 'N', 'K', 'B', 'T', 'H', 'D', 'n'].filter((k) => num(r[k]) !== undefined).map((k) => `${k}=${r[k]}`);
  const out: BenchRow = {
    suite,
    op: String(r.op ?? r.name ?? r.case ?? 'case'),
    shape: String(r.shape ?? dims.join(' ')),
    ms,
    p10: num(r.p10),
    p90: num(r.p90),
    samples: num(r.samples),
    flops: num(r.flops) ?? (num(r.gflops) !== undefined && isFinite(ms) ? (r.gflops * 1e9 * ms) / 1e3 : undefined),
    bytes: num(r.bytes),
    threads: num(r.threads),
    note: typeof r.note === 'string' ? r.note : undefined,
    extra: { raw: r },
  };
  if (out.threads !== undefined) out.shape += `, ${out.threads} thr`;
  if (out.flops === undefined) {
    const items = num(r.latentStepsPerSec) ?? num(r.itemsPerSec) ?? num(r.imagesPerSec);
    if (items !== undefined && isFinite(ms)) {
      out.items = (items * ms) / 1e3;
      out.itemUnit = r.latentStepsPerSec !== undefined ? 'latent-steps' : r.imagesPerSec !== undefined ? 'images' : 'items';
    }
  }
  const peers: PeerTiming[] = [];
  for (const key of ['peers', 'torch', 'pytorch', 'openblas', 'peer']) {
    const v = r[key];
    for (const p of Array.isArray(v) ? v : v && typeof v === 'object' ? [v] : []) {
      const pms = num(p.ms) ?? num(p.medianMs);
      if (pms === undefined) continue;
      const label = key === 'torch' || key === 'pytorch' ? 'PyTorch' : key === 'openblas' ? 'OpenBLAS' : '';
      const name = [label, p.peer ?? p.variant ?? p.name].filter(Boolean).join(' ');
      peers.push({ peer: name || key, ms: pms, ratio: num(p.ratio) ?? pms / ms });
    }
  }
  if (num(r.peerGflops) !== undefined && out.flops !== undefined) {
    const pms = (out.flops / (r.peerGflops * 1e9)) * 1e3;
    peers.push({ peer: typeof r.peerLabel === 'string' ? r.peerLabel : suite === 'gemm' ? 'OpenBLAS' : 'peer', ms: pms, ratio: pms / ms });
  }
  if (peers.length) out.peers = peers;
  return out;
}

export const SUITES: Suite[] = [
  {
    name: 'gemm',
    what: 'wk::gemm vs OpenBLAS sgemm, 1 and N threads (bench/gemm.bench.ts)',
    // gemm.bench.ts takes a list of thread counts: 1 and N (its rows say which)
    load: () => adapt('gemm', pick('gemm.bench', 'gemmBench'), (o) => ({ threads: [...new Set([1, o.threads])] })),
  },
  { name: 'conv', what: 'conv2d / convTranspose2d forward+backward at the VAE shapes', load: () => pick('conv.bench', 'convBench') },
  { name: 'lstm', what: 'predictor training steps and rollout vs PyTorch (bench/lstm.bench.ts)', load: () => adapt('lstm', pick('lstm.bench', 'lstmBench')) },
  { name: 'lstm-kernels', what: 'LSTM cell/sequence forward+backward, residual head', load: () => pick('kernels.bench', 'lstmKernelsBench') },
  { name: 'losses', what: 'MSE and KL forward/backward', load: () => pick('kernels.bench', 'lossesBench') },
  { name: 'adam', what: 'fused Adam step', load: () => pick('kernels.bench', 'adamBench') },
  { name: 'attention', what: 'fused causal attention forward and forward+backward at the Transformer predictor shapes vs the plain reference and PyTorch softmax(QKᵀ)V', load: () => pick('attention.bench', 'attentionBench') },
  { name: 'transformer', what: 'Transformer predictor training steps (teacher forcing, scheduled sampling) and 16-step rollout vs a PyTorch nn.TransformerEncoder peer', load: () => pick('transformer.bench', 'transformerBench') },
  { name: 'vae', what: 'VAE training step and encoding vs PyTorch (bench/vae.bench.ts)', load: () => adapt('vae', pick('vae.bench')) },
  { name: 'data', what: 'data pipeline (bench/data.bench.ts)', load: () => adapt('data', pick('data.bench')) },
  { name: 'train', what: 'the end-to-end demo, phase by phase (bench/train.bench.ts; only with --filter train)', load: () => adapt('train', pick('train.bench')) },
  { name: 'cuda', what: 'CUDA kernels (bench/cuda.bench.ts)', load: () => adapt('cuda', pick('cuda.bench')) },
  { name: 'scaling-predictor', what: 'predictor step over B x T', load: () => pick('scaling.bench', 'predictorScalingBench') },
  { name: 'scaling-vae', what: 'VAE step over B', load: () => pick('scaling.bench', 'vaeScalingBench') },
  { name: 'tsne', what: 't-SNE exact N=1000 and Barnes-Hut N=5000 at D=1024 vs scikit-learn (bench/tsne.bench.ts)', load: () => pick('tsne.bench', 'tsneBench') },
  { name: 'tfjs', what: 'predictor and VAE steps vs TensorFlow.js wasm/cpu', load: () => pick('tfjs.bench', 'tfjsBench') },
];

/** Suites whose peers are PyTorch scripts (bench/peers/torch_*.py). */
const TORCH_SUITES = ['conv', 'lstm', 'lstm-kernels', 'losses', 'adam', 'vae', 'attention', 'transformer'];

/**
 * Calibrates, before any suite runs, each peer the selected suites will use: PyTorch on the
 * run's threads, the C OpenBLAS peer on 1 and N threads (the gemm suite runs both).
 */
function calibratePeers(suites: string[], threads: number, peak: Peak | null, quick: boolean): Calibration[] {
  const out: Calibration[] = [];
  if (suites.some((s) => TORCH_SUITES.includes(s)) && torchVersion()) out.push(calibrateTorch(threads, peak, quick));
  if (suites.includes('gemm')) {
    const gemm = optionalModule('gemm.bench') as { openblasExe?: () => string | null } | null;
    const exe = gemm?.openblasExe?.() ?? null;
    for (const t of [...new Set([1, threads])]) out.push(calibrateCblas(exe, t, peak, quick));
  }
  return out;
}

export interface RunArgs {
  filter: string[];
  json?: string;
  device: 'cpu' | 'cuda';
  threads?: number;
  quick: boolean;
  peers: boolean;
  list: boolean;
}

export function parseArgs(argv: string[]): RunArgs {
  const a: RunArgs = { filter: [], device: 'cpu', quick: false, peers: true, list: false };
  for (let i = 0; i < argv.length; ++i) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`worldkit bench: ${flag} needs a value`);
      return v;
    };
    if (flag === '--filter') a.filter.push(...value().split(',').map((s) => s.trim()).filter(Boolean));
    else if (flag === '--json') a.json = value();
    else if (flag === '--device') {
      const d = value();
      if (d !== 'cpu' && d !== 'cuda') throw new Error(`worldkit bench: --device must be cpu or cuda, got ${d}`);
      a.device = d;
    } else if (flag === '--threads') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`worldkit bench: --threads must be a positive integer`);
      a.threads = n;
    } else if (flag === '--quick') a.quick = true;
    else if (flag === '--no-peers') a.peers = false;
    else if (flag === '--list') a.list = true;
    else throw new Error(`worldkit bench: unknown flag ${argv[i]} (see --list and bench/README.md)`);
  }
  const unknown = a.filter.filter((f) => !SUITES.some((s) => selects(f, s.name)));
  if (unknown.length) throw new Error(`worldkit bench: no suite named ${unknown.join(', ')} (suites: ${SUITES.map((s) => s.name).join(', ')})`);
  return a;
}

function selects(f: string, name: string): boolean {
  return name === f || name.startsWith(`${f}-`);
}

function sh(cmd: string, cwd?: string): string | null {
  try {
    return execSync(cmd, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

export interface Header {
  date: string;
  machine: string;
  cpuFlags: string;
  threads: number;
  isa: string;
  device: string;
  loadAverage: number[];
  node: string;
  worldkit: string;
  commit: string | null;
  peers: Record<string, string | null>;
  quick: boolean;
}

function header(args: RunArgs): Header {
  const root = packageRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const commit = sh('git rev-parse --short HEAD', root);
  const dirty = commit ? sh('git status --porcelain --untracked-files=no', root) : null;
  let tfjs: string | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tfjs = require('@tensorflow/tfjs/package.json').version;
  } catch {
    tfjs = null;
  }
  const builds = ['openmp', 'pthread'].filter((b) => sh(`dpkg-query -W -f='\${Status}' libopenblas0-${b}`)?.endsWith(' ok installed'));
  const openblasVersion = sh(`dpkg-query -W -f='\${Version}' libopenblas0-${builds[0] ?? 'pthread'}`) ?? sh("dpkg-query -W -f='${Version}' libopenblas0");
  const openblas = openblasVersion && builds.length ? `${openblasVersion} (${builds.join(' and ')} builds installed)` : openblasVersion;
  const blasAlt = sh('readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu');
  const flags = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '' : '';
  return {
    date: new Date().toISOString(),
    machine: cpuModel(),
    cpuFlags: ['avx512f', 'avx512_bf16', 'avx2', 'fma'].filter((f) => flags.split(' ').includes(f)).join(' '),
    threads: wk.getNumThreads(),
    isa: wk.cpuIsa(),
    device: args.device,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    worldkit: pkg.version,
    commit: commit ? `${commit}${dirty ? ' (+ uncommitted changes)' : ''}` : null,
    peers: {
      pytorch: args.peers ? torchVersion() : 'not run (--no-peers)',
      openblas: openblas ? `${openblas}${blasAlt ? `, system BLAS ${blasAlt}` : ''}` : null,
      tfjs,
    },
    quick: args.quick,
  };
}

export function formatHeader(h: Header, peak: Peak | null): string {
  const lines = [
    `worldkit ${h.worldkit} @ ${h.commit ?? 'unknown commit'} — ${h.date}${h.quick ? ' — QUICK (one iteration per case: not for comparison)' : ''}`,
    `machine: ${h.machine}, ${h.cpuFlags}; kernels: ${h.isa}, ${h.threads} threads; device ${h.device}; load average ${h.loadAverage.join(' ')}`,
    `node ${h.node}; peers: PyTorch ${h.peers.pytorch ?? 'not installed'}, OpenBLAS ${h.peers.openblas ?? 'not installed'}, TF.js ${h.peers.tfjs ?? 'not installed'}`,
  ];
  if (peak)
    lines.push(
      `peak (measured): ${peak.gflops.toFixed(0)} GFLOP/s with ${peak.threads} threads (${peak.gflops1.toFixed(0)} with 1), ${peak.isa} FMA loop; copy ${peak.gbps.toFixed(1)} GB/s (read + write)` +
        // N independent FMA loops on N free cores scale almost linearly; far less means other work took cores.
        (peak.threads > 1 && peak.gflops < 1.5 * peak.gflops1 ? ` — BUSY: the ${peak.threads}-thread peak is about one core's worth (other work, or SMT siblings, share the cores); ${peak.threads}-thread figures are not comparable` : ''),
    );
  return lines.join('\n');
}

/** Puts the TF.js timings of the tfjs suite beside the matching lstm / vae rows too. */
function crossPeers(rows: BenchRow[]): void {
  const tf = rows.filter((r) => r.suite === 'tfjs' && r.peers?.length);
  for (const r of rows) {
    if (r.suite === 'lstm' && /teacher/.test(r.op) && / ?H=256/.test(r.shape)) {
      const B = r.shape.match(/B=(\d+)/)?.[1];
      const src = tf.find((t) => /predictor/.test(t.op) && t.shape.startsWith(`B=${B} `));
      for (const p of src?.peers ?? []) (r.peers ??= []).push({ peer: p.peer, ms: p.ms, ratio: p.ms / r.ms });
    }
    if (r.suite === 'vae' && /train/i.test(r.op) && /B=32\b/.test(r.shape)) {
      const src = tf.find((t) => /VAE/.test(t.op));
      for (const p of src?.peers ?? []) (r.peers ??= []).push({ peer: p.peer, ms: p.ms, ratio: p.ms / r.ms });
    }
  }
}

export interface GoalResult {
  goal: string;
  target: number;
  ratio: number | null;
  /** True only for a met verdict: an unverified goal is never met. */
  met: boolean | null;
  /**
   * met / missed against a trusted peer; unverified when the ratio reaches the target but the
   * peer is handicapped or uncalibrated (its slowness may be what reached it); a ratio below the
   * target is missed whatever the peer (a faster peer would only lower it).
   */
  verdict: 'met' | 'missed' | 'unverified' | 'not measured';
  detail: string;
  /** The time worldkit must reach for the target: the peer's ms over the target. */
  neededMs?: number;
  /**
   * A lower bound from the measured peak: the row's flops at the peak FMA rate plus its
   * memory-bound bytes (the optimizer's) at the copy bandwidth; absent without the row's work or a peak.
   */
  floorMs?: number;
}

/**
 * The peak the floors are read against: the probe's, raised to the fastest calibrated peer's
 * 1024² GEMM at the same thread count. A kernel that ran that fast shows the machine can, and a
 * probe disturbed by other load (it keeps its best run, but a short one) would otherwise set
 * floors above times that were reached. Never lowers the probe.
 */
export function floorPeak(peak: Peak | null, calibrations: Calibration[]): Peak | null {
  if (!peak) return null;
  const best = (threads: number) => Math.max(0, ...calibrations.filter((c) => c.threads === threads && c.gflops !== null).map((c) => c.gflops as number));
  return { ...peak, gflops: Math.max(peak.gflops, best(peak.threads)), gflops1: Math.max(peak.gflops1, best(1)) };
}

/** The row's floor in ms at this run's measured peak (GoalResult.floorMs), or undefined. */
export function floorMs(r: BenchRow | undefined, peak: Peak | null | undefined): number | undefined {
  if (!r || !peak || !r.flops) return undefined;
  const gflops = peakAt(peak, r.threads ?? peak.threads);
  if (gflops === null || !(gflops > 0)) return undefined;
  const memory = r.bytes && peak.gbps > 0 ? r.bytes / (peak.gbps * 1e6) : 0;
  return r.flops / (gflops * 1e6) + memory;
}

/**
 * The speed goals (issue 8's, with issue 17's targets where it raised them: GEMM 1.0x, encode
 * 1.3x), read off the rows of this run (null where the rows or the peer are missing). With the
 * run's peak, each goal also carries the floor its row cannot beat.
 */
export function goals(rows: BenchRow[], peak?: Peak | null): GoalResult[] {
  const out: GoalResult[] = [];
  const find = (suite: string, op: RegExp, shape: RegExp) => rows.find((r) => r.suite === suite && op.test(r.op) && shape.test(r.shape));
  const best = (r: BenchRow | undefined, peer: RegExp) => {
    const ps = (r?.peers ?? []).filter((p) => peer.test(p.peer));
    return ps.length ? ps.reduce((a, b) => (a.ms < b.ms ? a : b)) : undefined;
  };
  const add = (goal: string, target: number, r: BenchRow | undefined, peer: RegExp) => {
    const p = best(r, peer);
    const reached = p ? p.ratio >= target : false;
    const doubtful = p?.trust === 'handicapped' || p?.trust === 'uncalibrated';
    const verdict: GoalResult['verdict'] = !p ? 'not measured' : !reached ? 'missed' : doubtful ? 'unverified' : 'met';
    const floor = floorMs(r, peak);
    out.push({
      goal,
      target,
      ratio: p ? p.ratio : null,
      met: verdict === 'met' ? true : verdict === 'missed' ? false : null,
      verdict,
      ...(p ? { neededMs: p.ms / target } : {}),
      ...(floor !== undefined ? { floorMs: floor } : {}),
      detail:
        p && r
          ? `worldkit ${fmt(r.ms)} ms vs ${p.peer} ${fmt(p.ms)} ms${doubtful ? ` (peer ${p.trust})` : ''}`
          : r
            ? `no peer timing${r.note ? ` (${r.note})` : ''}`
            : 'row not measured',
    });
  };
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const maxThr = Math.max(...rows.filter((r) => r.suite === 'gemm').map((r) => r.threads ?? 0), 0);
  for (const thr of [...new Set([1, maxThr])].filter((t) => t > 0))
    add(`GEMM 1024² ≥ 1.0x OpenBLAS (${thr} thread${thr > 1 ? 's' : ''})`, 1.0, rows.find((r) => r.suite === 'gemm' && /^1024(\^2|\D+1024\D+1024)/.test(r.shape) && (r.threads ?? thr) === thr), /OpenBLAS/i);
  add('predictor step B=4 teacher forcing ≥ 3x PyTorch (fastest variant)', 3, find('lstm', /teacher/, /B=4 H=256/), /PyTorch.*teacher/);
  add('predictor step B=32 teacher forcing ≥ 1.5x PyTorch (fastest variant)', 1.5, find('lstm', /teacher/, /B=32 H=256/), /PyTorch.*teacher/);
  add('predictor step B=4 scheduled sampling ≥ 5x PyTorch LSTMCell loop', 5, find('lstm', /scheduled/, /B=4 H=256/), /PyTorch/);
  add('rollout 16 steps B=32 ≥ 2x PyTorch', 2, find('lstm', /rollout/, /B=32/), /PyTorch/);
  add('VAE train step B=32 ≥ 1.7x PyTorch', 1.7, find('vae', /train/, /B=32/), /PyTorch/);
  add('VAE encode B=32 ≥ 1.3x PyTorch', 1.3, find('vae', /encode/, /B=32/), /PyTorch/);
  for (const B of [4, 32]) add(`predictor step B=${B} ≥ 10x TF.js (fastest backend)`, 10, find('tfjs', /predictor/, new RegExp(`^B=${B} `)), /TF\.js/);
  add('VAE train step B=32 ≥ 10x TF.js (fastest backend that can train it)', 10, find('tfjs', /VAE/, /B=32/), /TF\.js/);
  return out;
}

export function formatGoals(g: GoalResult[]): string {
  const lines = [
    '| goal (issues 8, 17) | speed-up | met? | timings | worldkit needs | floor at the measured peak |',
    '|---|---:|---|---|---:|---:|',
  ];
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ms`);
  const say = (x: GoalResult) =>
    x.verdict === 'met'
      ? 'met'
      : x.verdict === 'missed'
        ? `**missed** (${((100 * (x.ratio ?? 0)) / x.target).toFixed(0)}% of the target)`
        : x.verdict === 'unverified'
          ? '*unverified* (peer not shown at its best: see its calibration in the header)'
          : 'not measured';
  for (const x of g)
    lines.push(`| ${x.goal} | ${x.ratio === null ? '-' : `${x.ratio.toFixed(2)}x`} | ${say(x)} | ${x.detail} | ${ms(x.neededMs)} | ${ms(x.floorMs)} |`);
  return lines.join('\n');
}

export interface BenchResult {
  header: Header;
  peak: Peak | null;
  /** The peers' calibrations (bench/peer_env.ts), one per peer and thread count used. */
  calibrations: Calibration[];
  rows: BenchRow[];
  skipped: string[];
  log: string[];
  goals: GoalResult[];
}

export async function runBench(args: RunArgs, print: (s: string) => void = (s) => console.log(s)): Promise<BenchResult> {
  if (args.threads) wk.setNumThreads(args.threads);
  const logLines: string[] = [];
  const log = (s: string) => {
    logLines.push(s);
    print(`  ${s}`);
  };
  if (args.device === 'cuda') {
    if (!wk.cudaAvailable()) {
      const st = wk.cudaStatus() as unknown as { reason?: string };
      throw new Error(`worldkit bench: --device cuda but CUDA is not available (${st?.reason ?? 'no reason given'})`);
    }
    wk.setDefaultDevice('cuda');
  }
  const h = header(args);
  print(formatHeader(h, null));
  const peak = typeof native.benchPeakFlops === 'function' ? probePeak(native, wk.getNumThreads(), args.quick) : null;
  if (peak) print(formatHeader(h, peak).split('\n').pop() as string);
  // Without --filter: every suite but cuda (only with --device cuda) and train (the end-to-end
  // demo, up to 15 minutes on 2 cores: run it with --filter train).
  const byDefault = (name: string) => (name === 'cuda' ? args.device === 'cuda' : name !== 'train');
  const selected = SUITES.filter((s) => (args.filter.length ? args.filter.some((f) => selects(f, s.name)) : byDefault(s.name)));
  const calibrations = args.peers ? calibratePeers(selected.map((s) => s.name), wk.getNumThreads(), peak, args.quick) : [];
  for (const c of calibrations) print(formatCalibration(c));
  const opts: SuiteOptions = { quick: args.quick, threads: wk.getNumThreads(), device: args.device, peers: args.peers, log };
  const rows: BenchRow[] = [];
  const skipped: string[] = [];
  for (const s of selected) {
    const fn = s.load();
    if (!fn) {
      skipped.push(s.name);
      log(`suite ${s.name}: not present in this build (bench/${s.name}.bench.ts)`);
      continue;
    }
    const t0 = Date.now();
    print(`running ${s.name}: ${s.what}`);
    try {
      const out = await fn(opts);
      rows.push(...out);
    } catch (e) {
      log(`suite ${s.name} failed: ${(e as Error).stack ?? e}`);
      skipped.push(s.name);
    }
    print(`  ${s.name}: ${((Date.now() - t0) / 1e3).toFixed(1)} s`);
  }
  crossPeers(rows);
  applyCalibrations(rows, calibrations, wk.getNumThreads());
  print('');
  print(formatTable(rows, peak ?? undefined));
  const scaling = rows.filter((r) => r.suite === 'scaling');
  if (scaling.length) {
    const { formatScaling } = await import('./scaling.bench');
    print('');
    print(formatScaling(scaling));
  }
  const fp = floorPeak(peak, calibrations);
  if (peak && fp && (fp.gflops > peak.gflops || fp.gflops1 > peak.gflops1))
    log(`floors read against ${fp.gflops.toFixed(0)} GFLOP/s (${fp.gflops1.toFixed(0)} with 1 thread): a calibrated peer ran faster than the peak probe`);
  const g = goals(rows, fp).filter((x) => x.detail !== 'row not measured');
  if (g.length) {
    print('');
    print(formatGoals(g));
  }
  const result: BenchResult = { header: h, peak, calibrations, rows, skipped, log: logLines, goals: g };
  if (args.json) {
    fs.mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
    fs.writeFileSync(args.json, JSON.stringify(result, null, 2));
    print(`wrote ${args.json}`);
  }
  return result;
}

if (require.main === module) {
  let args: RunArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  if (args.list) {
    for (const s of SUITES) console.log(`${s.name.padEnd(18)} ${s.what}`);
    process.exit(0);
  }
  runBench(args).then(
    () => process.exit(0),
    (e) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    },
  );
}
