/**
 * The benchmark peers' configuration and trust (issue 17, bench/peer_env.ts): decisions only,
 * on fake machines (a temp dir as the filesystem root, CPU flags given), no timing.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BenchRow, formatTable } from '../bench/harness';
import { Calibration, HANDICAP_FRACTION, MachineFacts, applyCalibrations, chooseCoretype, envArgs, formatCalibration, judge, peerConfig } from '../bench/peer_env';
import { lstmWork } from '../bench/lstm.bench';
import { floorPeak, formatGoals, goals } from '../bench/run';

const AVX512 = 'fpu sse2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16'.split(' ');
const AVX2 = 'fpu sse2 avx fma avx2'.split(' ');
const MA = 'x86_64-linux-gnu';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-peers-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** Creates <root>/usr/lib/<multiarch>/<rel> (an empty file stands for the library). */
function install(rel: string): string {
  const f = path.join(root, 'usr', 'lib', MA, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, '');
  return f;
}

function facts(cpuFlags: string[], env: NodeJS.ProcessEnv = {}): MachineFacts {
  return { root, multiarch: MA, cpuFlags, env };
}

describe('peer configuration', () => {
  test("the environment's OPENBLAS_CORETYPE is overridden from the CPU flags, in the peer's env only", () => {
    const env = { OPENBLAS_CORETYPE: 'Haswell', PATH: '/usr/bin' };
    const before = process.env.OPENBLAS_CORETYPE;
    const fast = peerConfig('torch', 2, facts(AVX512, env));
    expect(fast.env.OPENBLAS_CORETYPE).toBe('SkylakeX');
    expect(fast.overriddenCoretype).toBe('Haswell');
    expect(fast.env.PATH).toBe('/usr/bin');
    expect(env.OPENBLAS_CORETYPE).toBe('Haswell'); // the inherited environment is read, not written
    expect(process.env.OPENBLAS_CORETYPE).toBe(before);
    expect(formatCalibration({ label: 'PyTorch', kind: 'torch', threads: 2, config: fast, gflops: null, peakGflops: null, fraction: null, trust: 'uncalibrated' })).toMatch(
      /kernels SkylakeX \(environment's Haswell overridden\)/,
    );

    // An AVX2-only CPU must not get SkylakeX's kernels (SIGILL), whatever the environment says.
    const avx2 = peerConfig('cblas', 2, facts(AVX2, { OPENBLAS_CORETYPE: 'SkylakeX' }));
    expect(avx2.env.OPENBLAS_CORETYPE).toBe('Haswell');
    expect(avx2.overriddenCoretype).toBe('SkylakeX');
    // AVX-512F alone (no BW/VL/DQ) is not enough for the SkylakeX kernels.
    expect(chooseCoretype([...AVX2, 'avx512f']).coretype).toBe('Haswell');
    // Without AVX2 the pin is removed, leaving OpenBLAS to detect, rather than guessed.
    const old = peerConfig('torch', 1, facts(['fpu', 'sse2', 'avx'], { OPENBLAS_CORETYPE: 'Haswell' }));
    expect('OPENBLAS_CORETYPE' in old.env).toBe(false);
    // A matching pin is kept and not reported as overridden.
    expect(peerConfig('torch', 2, facts(AVX2, { OPENBLAS_CORETYPE: 'Haswell' })).overriddenCoretype).toBeUndefined();
  });

  test('the OpenMP OpenBLAS is preferred when its folder exists', () => {
    const omp = path.dirname(install('openblas-openmp/libopenblas.so.0'));
    install('openblas-pthread/libopenblas.so.0');
    const env = { LD_LIBRARY_PATH: '/opt/other', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '7' };
    for (const kind of ['torch', 'cblas', 'python'] as const) {
      const c = peerConfig(kind, 2, facts(AVX512, env));
      expect(c.blas).toBe('openmp');
      expect(c.blasDir).toBe(omp);
      expect(c.env.LD_LIBRARY_PATH).toBe(`${omp}:/opt/other`);
      // An inherited OPENBLAS_NUM_THREADS=1 would cap the OpenMP build: it sizes itself from OpenMP.
      expect('OPENBLAS_NUM_THREADS' in c.env).toBe(false);
      expect(c.env.OMP_NUM_THREADS).toBe('2');
      // The by-hand form (`env $(node dist/bench/peer_env.js ...) cmd`) removes and sets the same.
      const args = envArgs(c, env);
      expect(args).toEqual(expect.arrayContaining(['-u', 'OPENBLAS_NUM_THREADS', `LD_LIBRARY_PATH=${omp}:/opt/other`, 'OMP_NUM_THREADS=2', 'OPENBLAS_CORETYPE=SkylakeX']));
    }
  });

  test('the pthread fallback runs OpenBLAS on one thread beside PyTorch, all threads in the C peer', () => {
    const pth = path.dirname(install('openblas-pthread/libblas.so.3'));
    fs.mkdirSync(path.join(root, 'usr', 'lib', MA, 'openblas-openmp')); // an empty folder is not an installed build
    const torch = peerConfig('torch', 2, facts(AVX512, { OPENBLAS_NUM_THREADS: '8' }));
    expect(torch.blas).toBe('pthread');
    expect(torch.env.LD_LIBRARY_PATH).toBe(pth);
    expect(torch.env.OPENBLAS_NUM_THREADS).toBe('1');
    expect(torch.env.OMP_NUM_THREADS).toBe('2');
    expect(peerConfig('python', 2, facts(AVX512)).env.OPENBLAS_NUM_THREADS).toBe('1');
    // The C peer has no other pool: its OpenBLAS keeps the run's threads.
    expect(peerConfig('cblas', 2, facts(AVX512)).env.OPENBLAS_NUM_THREADS).toBe('2');
    // Neither build: the system BLAS, still with a single pool beside PyTorch.
    fs.rmSync(path.join(root, 'usr'), { recursive: true });
    const none = peerConfig('torch', 2, facts(AVX512));
    expect(none.blas).toBe('system');
    expect(none.blasDir).toBeNull();
    expect(none.env.OPENBLAS_NUM_THREADS).toBe('1');
  });

  test('tcmalloc is preloaded into PyTorch peers when present', () => {
    expect(peerConfig('torch', 2, facts(AVX512)).allocator).toBe('malloc');
    expect('LD_PRELOAD' in peerConfig('torch', 2, facts(AVX512)).env).toBe(false);
    const lib = install('libtcmalloc_minimal.so.4');
    const c = peerConfig('torch', 2, facts(AVX512, { LD_PRELOAD: '/opt/x.so' }));
    expect(c.allocator).toBe('tcmalloc');
    expect(c.env.LD_PRELOAD).toBe(`${lib}:/opt/x.so`);
    // Only PyTorch peers: the C peer and numpy run as they are.
    expect(peerConfig('cblas', 2, facts(AVX512)).env.LD_PRELOAD).toBeUndefined();
  });
});

describe('peer trust', () => {
  const cal = (kind: Calibration['kind'], threads: number, gflops: number, peak: number): Calibration => ({
    label: kind === 'torch' ? 'PyTorch' : 'OpenBLAS',
    kind,
    threads,
    config: peerConfig(kind, threads, { root: '/nonexistent', multiarch: MA, cpuFlags: AVX512, env: {} }),
    gflops,
    peakGflops: peak,
    ...judge(gflops, peak),
  });

  test('a peer below 70% of the peak is handicapped; no figure is uncalibrated', () => {
    expect(HANDICAP_FRACTION).toBe(0.7);
    expect(judge(70, 100).trust).toBe('trusted');
    expect(judge(69.9, 100).trust).toBe('handicapped');
    expect(judge(null, 100).trust).toBe('uncalibrated');
    expect(judge(90, null).trust).toBe('uncalibrated');
  });

  // worldkit 10 ms; PyTorch 40 ms (4x, the B=4 goal is 3x) and 12 ms (1.2x, the B=32 goal is 1.5x).
  const rows = (): BenchRow[] => [
    { suite: 'lstm', op: 'train step, teacher forcing', shape: 'B=4 H=256', ms: 10, peers: [{ peer: 'PyTorch teacher nn.LSTM', ms: 40, ratio: 4 }] },
    { suite: 'lstm', op: 'train step, teacher forcing', shape: 'B=32 H=256', ms: 10, peers: [{ peer: 'PyTorch teacher nn.LSTM', ms: 12, ratio: 1.2 }] },
    { suite: 'gemm', op: 'gemm', shape: '1024^2 NN, 1 thr', ms: 10, threads: 1, peers: [{ peer: 'OpenBLAS', ms: 11, ratio: 1.1 }] },
  ];
  const verdicts = (rs: BenchRow[]) => Object.fromEntries(goals(rs).filter((g) => g.verdict !== 'not measured').map((g) => [g.goal.split(' ≥')[0], g.verdict]));

  test('a handicapped peer turns a goal it reaches into unverified, never met', () => {
    const trusted = rows();
    applyCalibrations(trusted, [cal('torch', 2, 90, 100), cal('cblas', 1, 45, 50)], 2);
    expect(verdicts(trusted)).toEqual({ 'predictor step B=4 teacher forcing': 'met', 'predictor step B=32 teacher forcing': 'missed', 'GEMM 1024²': 'met' });

    const slow = rows();
    applyCalibrations(slow, [cal('torch', 2, 50, 100), cal('cblas', 1, 30, 50)], 2);
    const g = goals(slow).filter((x) => x.verdict !== 'not measured');
    expect(verdicts(slow)).toEqual({ 'predictor step B=4 teacher forcing': 'unverified', 'predictor step B=32 teacher forcing': 'missed', 'GEMM 1024²': 'unverified' });
    expect(g.every((x) => x.met !== true)).toBe(true);
    expect(formatGoals(g)).toMatch(/\*unverified\*/);
    expect(formatGoals(g)).not.toMatch(/\| met \|/);
    expect(formatTable(slow)).toMatch(/PyTorch teacher nn\.LSTM 40\.0 → \*\*4\.00x\*\* \*handicapped\*/);
  });

  test('each goal says the time worldkit needs and the floor its work sets at the measured peak', () => {
    const rs = rows();
    // 4 GFLOP at 400 GFLOP/s (2 threads) is 10 ms, plus 36 MB at 36 GB/s, 1 ms; the 1-thread row reads the 1-thread peak.
    Object.assign(rs[0], { flops: 4e9, bytes: 36e6 });
    Object.assign(rs[2], { flops: 2e9 });
    applyCalibrations(rs, [cal('torch', 2, 90, 100), cal('cblas', 1, 45, 50)], 2);
    const peak = { gflops: 400, gflops1: 200, isa: 'avx512', gbps: 36, threads: 2 };
    const byName = Object.fromEntries(goals(rs, peak).map((g) => [g.goal.split(' ≥')[0], g]));
    const b4 = byName['predictor step B=4 teacher forcing'];
    expect(b4.neededMs).toBeCloseTo(40 / 3, 12);
    expect(b4.floorMs).toBeCloseTo(11, 12);
    expect(byName['GEMM 1024²'].floorMs).toBeCloseTo(10, 12);
    expect(byName['GEMM 1024²'].target).toBe(1.0);
    expect(byName['VAE encode B=32'].target).toBe(1.3);
    // No work on the row, or no peak: no floor (never a made-up one).
    expect(byName['predictor step B=32 teacher forcing'].floorMs).toBeUndefined();
    expect(goals(rs).every((g) => g.floorMs === undefined)).toBe(true);
    const table = formatGoals(goals(rs, peak).filter((g) => g.verdict !== 'not measured'));
    expect(table).toMatch(/\| worldkit needs \| floor at the measured peak \|/);
    expect(table).toMatch(/predictor step B=4 teacher forcing .*\| 13\.3 ms \| 11\.0 ms \|/);
  });

  test('floors are read against the probe, raised to a calibrated peer that ran faster, never lowered', () => {
    const peak = { gflops: 360, gflops1: 230, isa: 'avx512', gbps: 35, threads: 2 };
    // The 2-thread probe was disturbed: PyTorch's GEMM ran at 390.
    const raised = floorPeak(peak, [cal('torch', 2, 390, 360), cal('cblas', 2, 370, 360), cal('cblas', 1, 190, 230)]);
    expect(raised).toEqual({ ...peak, gflops: 390, gflops1: 230 });
    expect(floorPeak(peak, [])).toEqual(peak);
    expect(floorPeak(null, [cal('torch', 2, 390, 360)])).toBeNull();
    // A failed calibration (no figure) changes nothing.
    expect(floorPeak(peak, [{ ...cal('cblas', 1, 0, 230), gflops: null }])).toEqual(peak);
  });

  test('lstmWork counts the products the step runs', () => {
    // lstm-kernels' own counts: a sequence forward is 2R(I + H)G, a BPTT without the data's gradient adds 2R(I + 2H)G.
    const R = 4 * 15, I = 1027, H = 256, G = 4 * H, D = 1024;
    const head = 2 * R * H * D;
    expect(lstmWork('train', 4, 16, H).flops).toBe(2 * R * (I + H) * G + 2 * R * (I + 2 * H) * G + 3 * head);
    expect(lstmWork('train', 4, 16, H).bytes).toBe(28 * (G * (I + H) + 2 * G + D * H + D));
    expect(lstmWork('rollout', 32, 16, H)).toEqual({ flops: 2 * 32 * 16 * ((I + H) * G + H * D), bytes: 0 });
  });

  test('the GEMM peer answers to the calibration at its own thread count; a peer with none is uncalibrated', () => {
    // Trusted at 2 threads, handicapped at 1: the 1-thread GEMM goal is unverified.
    const rs = rows();
    applyCalibrations(rs, [cal('torch', 2, 90, 100), cal('cblas', 2, 90, 100), cal('cblas', 1, 20, 50)], 2);
    expect(rs[2].peers?.[0].trust).toBe('handicapped');
    // No calibration at all (the probe or the peer failed): not trusted by default.
    const none = rows();
    applyCalibrations(none, [], 2);
    expect(none.flatMap((r) => r.peers ?? []).every((p) => p.trust === 'uncalibrated')).toBe(true);
    expect(verdicts(none)['predictor step B=4 teacher forcing']).toBe('unverified');
    expect(formatTable(none)).toMatch(/\*uncalibrated\*/);
  });
});
