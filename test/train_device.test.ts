/**
 * The `device` option of the trainers and loaders and the CLI's --device flag. Under the CPU
 * emulation of the CUDA kernels (wk.useCudaEmulation()), a tiny trainVAE and trainPredictor run
 * on 'cuda' give the CPU's losses (1e-4 relative), write checkpoints that load on the CPU, and
 * resume bit-identically on 'cuda'. Without a usable 'cuda' device (and without the emulation),
 * asking for it fails with one line naming the option/flag and the reason (exit code 2 in the
 * CLI); a bad value (--device tpu) is a clear usage error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import type { Episode } from '../src/data/episode';
import type { ConvVAE } from '../src/models/conv_vae';
import type { Module } from '../src/nn/module';
import { createVAE, trainVAE, TrainVAEOptions, modelConfigOf } from '../src/train/train_vae';
import { createPredictor, trainPredictor, TrainPredictorOptions } from '../src/train/train_predictor';
import { loadPredictor, loadVAE } from '../src/train/load';
import { latestCheckpoint } from '../src/train/checkpoint';
import { runDemo, DEMO_QUICK } from '../src/train/demo';
import { main } from '../src/cli/main';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-device-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A small 16x16 episode: moving gradients plus noise, and smooth actions. */
function episode(seed: number, length: number): Episode {
  const H = 16, W = 16;
  const frames = new Uint8Array(length * H * W * 3);
  let s = seed * 7919 + 1;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) / 16777216;
  for (let t = 0; t < length; ++t)
    for (let y = 0; y < H; ++y)
      for (let x = 0; x < W; ++x)
        for (let c = 0; c < 3; ++c) frames[((t * H + y) * W + x) * 3 + c] = Math.min(255, Math.floor(((x + t * (c + 1) + seed) % W) * 12 + y * 3 + r() * 40));
  const actions = Float32Array.from({ length: length * 3 }, (_, i) => Math.sin(i * 0.7 + seed));
  return { length, height: H, width: W, frames, actionDim: 3, actions, labelDim: 0 };
}
const data = () => [episode(1, 12), episode(2, 12), episode(3, 6)];
const vaeOpts = { inputShape: [3, 16, 16] as [number, number, number], encoderChannels: [4, 8], latentDim: 6, seed: 3 };
const weights = (m: Module): Record<string, number[]> => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
const devices = (m: Module) => new Set(m.parameters().map((p) => p.device));

function expectRel(actual: number, expected: number, rel: number, what: string): void {
  if (!(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-12))) throw new Error(`${what}: ${actual} vs ${expected} (rel ${rel})`);
}
/** Every logged number of two histories agrees at `rel`, except the keys that must be equal. */
function expectSameLogs(a: Record<string, number>[], b: Record<string, number>[], rel: number, what: string): void {
  expect(a.length).toBe(b.length);
  a.forEach((row, i) => {
    expect(Object.keys(row).sort()).toEqual(Object.keys(b[i]).sort());
    for (const [k, v] of Object.entries(b[i])) expectRel(row[k], v, rel, `${what} ${i} ${k}`);
  });
}
/** Records every batch's loss (and the other logged numbers but stepMs). */
function batchLog() {
  const rows: Record<string, number>[] = [];
  return {
    rows,
    callbacks: {
      onBatchEnd: (_b: number, l: Record<string, number>) => {
        const { stepMs: _ms, ...rest } = l;
        rows.push(rest);
      },
    },
  };
}

async function cli(...argv: string[]) {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, out: out.join('\n'), err };
}

describe("device option without a usable 'cuda' device", () => {
  beforeAll(() => wk.useCudaEmulation(false));
  const noCuda = () => !wk.cudaStatus().available; // a machine with a real GPU skips these checks

  test("--device cuda: one line naming the flag and the reason, exit code 2, for every command", async () => {
    if (!noCuda()) return;
    const reason = wk.cudaStatus().reason;
    for (const c of ['train-vae', 'train-predictor', 'eval', 'rollout', 'demo']) {
      const dir = tmp(`nocuda-${c}`);
      const extra = c === 'train-vae' || c === 'demo' ? [] : ['--vae', path.join(dir, 'none')];
      if (c === 'eval' || c === 'rollout') extra.push('--predictor', path.join(dir, 'none'));
      const r = await cli(c, '--device', 'cuda', '--out', path.join(dir, 'x'), ...extra);
      expect({ c, code: r.code }).toEqual({ c, code: 2 });
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toContain(`worldkit ${c}: --device cuda: device 'cuda' is not available: `);
      expect(r.err[0]).toContain(reason.split(/\s+/)[0]);
      expect(r.err[0]).not.toMatch(/\n/);
      expect(fs.readdirSync(dir)).toEqual([]); // nothing was written before the check
    }
  });

  test('--device tpu is a usage error listing the choices; --help documents --device', async () => {
    for (const c of ['train-vae', 'train-predictor', 'eval', 'rollout', 'demo']) {
      const r = await cli(c, '--device', 'tpu');
      expect(r.code).toBe(2);
      expect(r.err).toEqual([`worldkit ${c}: --device must be one of cpu, cuda, got 'tpu'`]);
      const h = await cli(c, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toMatch(/--device <cpu\|cuda>\s+where the models run/);
    }
  });

  test('the library: a bad device is a TypeError, an unavailable one a clear Error, before anything runs', async () => {
    const vae = createVAE(vaeOpts);
    await expect(trainVAE(vae, data(), { device: 'tpu' as 'cpu' })).rejects.toThrow(`trainVAE: options.device must be 'cpu' or 'cuda', got string "tpu"`);
    const pred = createPredictor(vae, { hiddenSize: 4 });
    await expect(trainPredictor(pred, vae, data(), { device: 'gpu' as 'cpu' })).rejects.toThrow(TypeError);
    expect(() => loadVAE('nowhere', { device: 'tpu' as 'cpu' })).toThrow(/loadVAE: options.device must be 'cpu' or 'cuda'/);
    if (!noCuda()) return;
    await expect(trainVAE(vae, data(), { device: 'cuda' })).rejects.toThrow(/^trainVAE: options.device is 'cuda' but device 'cuda' is not available: /);
    await expect(trainPredictor(pred, vae, data(), { device: 'cuda' })).rejects.toThrow(/^trainPredictor: options.device is 'cuda' but device 'cuda' is not available/);
    expect(() => createVAE({ ...vaeOpts, device: 'cuda' })).toThrow(/^createVAE: device is 'cuda' but device 'cuda' is not available/);
    expect(devices(vae)).toEqual(new Set(['cpu']));
  });
});

describe("trainVAE / trainPredictor on 'cuda' under the emulation", () => {
  beforeAll(() => wk.useCudaEmulation(true));

  test("trainVAE on 'cuda' gives the CPU's losses; the checkpoint loads on the CPU; resume is bit-identical on 'cuda'", async () => {
    const eps = data();
    const opts: TrainVAEOptions = { epochs: 1, batchSize: 4, lr: 2e-3, seed: 4, maxBatchesPerEpoch: 3, gradClip: 5 };
    const lc = batchLog(), lg = batchLog();
    const cpu = createVAE(vaeOpts);
    const rc = await trainVAE(cpu, eps, { ...opts, checkpointDir: tmp('vae-cpu'), callbacks: lc.callbacks });
    const gpu = createVAE(vaeOpts); // built on the CPU, moved by trainVAE
    const dirG = tmp('vae-cuda');
    const rg = await trainVAE(gpu, eps, { ...opts, device: 'cuda', checkpointDir: dirG, callbacks: lg.callbacks });
    expect(devices(gpu)).toEqual(new Set(['cuda']));
    expect(lg.rows.length).toBe(3);
    expectSameLogs(lg.rows, lc.rows, 1e-4, 'vae batch');
    expectSameLogs(rg.history, rc.history, 1e-4, 'vae epoch');
    expect(rg.history[0].valLoss).toBeGreaterThan(0);
    // the checkpoint of the 'cuda' run holds host copies: it loads on the CPU (and on 'cuda')
    const onCpu = loadVAE(dirG);
    expect(devices(onCpu)).toEqual(new Set(['cpu']));
    expect(weights(onCpu)).toEqual(weights(gpu));
    const onGpu = loadVAE(dirG, { device: 'cuda' });
    expect(devices(onGpu)).toEqual(new Set(['cuda']));
    expect(weights(onGpu)).toEqual(weights(gpu));
    expect(modelConfigOf(createVAE({ ...vaeOpts, device: 'cuda' }))).toEqual(modelConfigOf(cpu)); // device is not part of the config
    // resume on 'cuda': 2 epochs in one go == 1 epoch, stop, resume (from a new CPU model), 1 epoch
    const two = { ...opts, epochs: 2, maxBatchesPerEpoch: 2, device: 'cuda' as const };
    const a = createVAE(vaeOpts);
    const ra = await trainVAE(a, eps, { ...two, checkpointDir: tmp('vae-a') });
    const dirB = tmp('vae-b');
    await trainVAE(createVAE(vaeOpts), eps, { ...two, checkpointDir: dirB, callbacks: { onEpochEnd: () => false } });
    const b = createVAE(vaeOpts);
    const rb = await trainVAE(b, eps, { ...two, checkpointDir: dirB, resume: true });
    expect(rb.step).toBe(4);
    expect(weights(b)).toEqual(weights(a));
    expect(rb.history).toEqual(ra.history);
  });

  test("trainPredictor (frames encoded on 'cuda', scheduled sampling, noise, jitter) gives the CPU's losses; checkpoints load on the CPU; resume is bit-identical", async () => {
    const eps = data();
    const opts: TrainPredictorOptions = {
      epochs: 1, batchSize: 4, lr: 3e-3, seed: 5, seqLen: 4, scheduledSampling: true, samplingSchedule: { decay: 'constant', start: 0.5 },
      inputNoiseStd: 0.01, targetJitterScale: 0.005, gradClip: 1,
    };
    const mk = (vae: ConvVAE) => createPredictor(vae, { hiddenSize: 8, residualPrediction: true, useActions: true, seed: 6 });
    const lc = batchLog(), lg = batchLog();
    const vc = createVAE(vaeOpts), vg = createVAE(vaeOpts);
    let latCpu: Float32Array[] = [], latGpu: Float32Array[] = [];
    const rc = await trainPredictor(mk(vc), vc, eps, { ...opts, checkpointDir: tmp('p-cpu'), callbacks: lc.callbacks, onLatentsEncoded: (l) => (latCpu = l.map((e) => e.z)) });
    const pg = mk(vg);
    const dirG = tmp('p-cuda');
    const rg = await trainPredictor(pg, vg, eps, { ...opts, device: 'cuda', checkpointDir: dirG, callbacks: lg.callbacks, onLatentsEncoded: (l) => (latGpu = l.map((e) => e.z)) });
    expect(devices(pg)).toEqual(new Set(['cuda']));
    expect(devices(vg)).toEqual(new Set(['cuda'])); // the frames were encoded on the device
    latGpu.forEach((z, e) => z.forEach((v, i) => expect(Math.abs(v - latCpu[e][i])).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(latCpu[e][i])))));
    expect(lg.rows.length).toBeGreaterThanOrEqual(2);
    expectSameLogs(lg.rows, lc.rows, 1e-4, 'predictor batch');
    expectSameLogs(rg.history, rc.history, 1e-4, 'predictor epoch');
    expect(rg.history[0].valOpenLoop).toBeGreaterThan(0);
    const onCpu = loadPredictor(dirG);
    expect(devices(onCpu)).toEqual(new Set(['cpu']));
    expect(weights(onCpu)).toEqual(weights(pg));
    // createPredictor follows the VAE's device; resume on 'cuda' is bit-identical
    expect(devices(mk(vg))).toEqual(new Set(['cuda']));
    const two = { ...opts, epochs: 2, device: 'cuda' as const, maxBatchesPerEpoch: 2 };
    const a = mk(vg);
    const ra = await trainPredictor(a, vg, eps, { ...two, checkpointDir: tmp('p-a') });
    const dirB = tmp('p-b');
    await trainPredictor(mk(vg), vg, eps, { ...two, checkpointDir: dirB, callbacks: { onEpochEnd: () => false } });
    expect(latestCheckpoint(dirB)).not.toBeNull();
    const b = mk(createVAE(vaeOpts)); // a CPU predictor resumed on 'cuda'
    const rb = await trainPredictor(b, vg, eps, { ...two, checkpointDir: dirB, resume: true });
    expect(devices(b)).toEqual(new Set(['cuda']));
    expect(rb.step).toBe(ra.step);
    expect(weights(b)).toEqual(weights(a));
    expect(rb.history).toEqual(ra.history);
  });

  test("the demo's path on 'cuda' (VAE options with device, as `demo --device cuda` passes them), then `eval` / `rollout --device cuda` on its checkpoints", async () => {
    const out = tmp('demo');
    const vae = { encoderChannels: [4, 4, 4, 4], latentShape: [2, 4, 4] as [number, number, number], seed: 1, device: 'cuda' as const };
    const r = await runDemo({
      outDir: out, cacheDir: false,
      config: { ...DEMO_QUICK, trainEpisodes: 2, testEpisodes: 1, steps: 24, vae, vaeEpochs: 1, vaeBatch: 8, predEpochs: 1, predBatch: 4, hiddenSize: 8, seqLen: 6, context: 2, horizon: 4, evalWindows: 2 },
    });
    expect(Number.isFinite(r.rollout.summary.latentMse)).toBe(true);
    const vaeDir = path.join(out, 'vae'), predDir = path.join(out, 'predictor');
    expect(loadVAE(vaeDir).parameters()[0].device).toBe('cpu'); // saved from 'cuda', loads on the CPU
    const common = ['--vae', vaeDir, '--predictor', predDir, '--episodes', '1', '--steps', '12', '--context', '2', '--horizon', '4', '--windows', '1'];
    const evals: Record<string, { reconstruction: Record<string, number>; rollout: { summary: Record<string, number> } }> = {};
    for (const d of ['cpu', 'cuda']) {
      const r1 = await cli('eval', ...common, '--probe_episodes', '2', '--probe_epochs', '1', '--device', d, '--out', path.join(out, `eval-${d}`));
      expect({ d, code: r1.code, err: r1.err }).toEqual({ d, code: 0, err: [] });
      evals[d] = JSON.parse(fs.readFileSync(path.join(out, `eval-${d}`, 'eval', 'eval.json'), 'utf8'));
      const r2 = await cli('rollout', ...common.slice(0, -2), '--count', '1', '--device', d, '--out', path.join(out, `film-${d}.png`));
      expect({ d, code: r2.code, err: r2.err }).toEqual({ d, code: 0, err: [] });
    }
    for (const k of ['mse', 'psnr']) expectRel(evals.cuda.reconstruction[k], evals.cpu.reconstruction[k], 1e-3, `eval ${k}`);
    for (const k of ['latentMse', 'pixelMseVsReal']) expectRel(evals.cuda.rollout.summary[k], evals.cpu.rollout.summary[k], 1e-3, `eval ${k}`);
  });
});
