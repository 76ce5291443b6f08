/**
 * bench-model (src/train/bench_model.ts, src/cli/commands/bench_model.ts): the Moving MNIST
 * protocol's metrics against hand-computed values, the fixed test set, a tiny run from the CLI
 * (table, JSON, resume) and the errors of bad calls.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../src/cli/main';
import {
  ProtocolAccumulator,
  protocolFrameScores,
  mmnistTestSetHash,
  mmnistTestChunks,
  digitPairEpisodes,
  BenchModelFile,
} from '../src/train/bench_model';
import { movingMnistChunks, movingMnistEpisodes } from '../src/data/moving_mnist';

/** results.json as written: non-finite numbers are strings ("NaN"). */
const readResults = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'), (_k, v) => (v === 'NaN' ? NaN : v)) as BenchModelFile;

/** The metrics are finite; retention is where the probe reads some real frame right at that step (the ratio's denominator), NaN elsewhere. */
function expectFiniteRows(json: BenchModelFile): void {
  const real = json.probe!.realAccuracy;
  expect(real).toHaveLength(10);
  for (const row of json.rows) {
    for (const v of [row.mse, row.mae, row.ssim, row.psnr]) expect(Number.isFinite(v)).toBe(true);
    for (const c of [row.curves.mse, row.curves.mae, row.curves.ssim, row.curves.psnr]) {
      expect(c).toHaveLength(10);
      c.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    }
    expect(row.curves.retention).toHaveLength(10);
    row.curves.retention!.forEach((v, k) => expect(Number.isFinite(v)).toBe(real[k] > 0));
    expect(Number.isFinite(row.retention!)).toBe(real.some((a) => a > 0));
    // sums over 4,096 pixels: far above a per-pixel mean; the row is the mean of its steps
    expect(row.mse).toBeGreaterThan(1);
    expect(row.mse).toBeCloseTo(row.curves.mse.reduce((a, b) => a + b, 0) / 10, 6);
  }
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('protocol metrics (OpenSTL: per-frame sums, per-frame PSNR averaged)', () => {
  test('one frame: MSE and MAE are sums over the pixels, PSNR and SSIM by hand', () => {
    const real = new Float32Array(16); // a 1x4x4 black frame
    const pred = new Float32Array(16).fill(0.5);
    const s = protocolFrameScores(pred, real, [1, 4, 4]);
    expect(s.mse).toBeCloseTo(16 * 0.25, 10); // a sum, not the mean 0.25
    expect(s.mae).toBeCloseTo(16 * 0.5, 10);
    expect(s.psnr).toBeCloseTo(-10 * Math.log10(0.25), 10);
    // constant planes: variances and covariance 0, mu 0.5 vs 0 -> C1 / (0.25 + C1)
    const C1 = 0.01 ** 2;
    expect(s.ssim).toBeCloseTo(C1 / (0.25 + C1), 10);
    // identical frames: 0 error, SSIM 1, PSNR capped (finite)
    const same = protocolFrameScores(real, real, [1, 4, 4]);
    expect([same.mse, same.mae, same.ssim, same.psnr]).toEqual([0, 0, 1, 100]);
  });

  test('MSE and MAE on raw predictions, PSNR and SSIM on predictions clipped to [0, 1]', () => {
    const real = new Float32Array(16);
    const pred = new Float32Array(16).fill(1.5);
    const s = protocolFrameScores(pred, real, [1, 4, 4]);
    expect(s.mse).toBeCloseTo(16 * 2.25, 10);
    expect(s.mae).toBeCloseTo(16 * 1.5, 10);
    expect(s.psnr).toBeCloseTo(0, 10); // clipped to 1: mean squared error 1
    expect(pred[0]).toBe(1.5); // the caller's array is not changed
    const neg = protocolFrameScores(new Float32Array(16).fill(-0.5), new Float32Array(16).fill(0.5), [1, 4, 4]);
    expect(neg.mse).toBeCloseTo(16, 10);
    expect(neg.psnr).toBeCloseTo(-10 * Math.log10(0.25), 10);
  });

  test('a 64x64 frame: the per-frame MSE is 4,096 times the per-pixel MSE', () => {
    const real = new Float32Array(4096);
    const pred = new Float32Array(4096);
    for (let i = 0; i < 4096; ++i) {
      real[i] = (i % 7) / 6;
      pred[i] = real[i] + (i % 2 ? 0.1 : -0.1);
    }
    const s = protocolFrameScores(pred, real, [1, 64, 64]);
    expect(s.mse).toBeCloseTo(4096 * 0.01, 3);
    expect(s.mae).toBeCloseTo(4096 * 0.1, 3);
  });

  test('the accumulator averages per step and over all frames; PSNR is the mean of per-frame PSNRs', () => {
    const acc = new ProtocolAccumulator(2);
    const z = new Float32Array(16);
    const a = new Float32Array(16).fill(0.5); // sse 4, psnr 6.02
    const b = new Float32Array(16).fill(0.1); // sse 0.16, psnr 20
    acc.add(0, a, z, [1, 4, 4]);
    acc.add(0, b, z, [1, 4, 4]);
    acc.add(1, a, z, [1, 4, 4]);
    acc.add(1, a, z, [1, 4, 4]);
    const r = acc.result();
    expect(r.frames).toBe(4);
    expect(r.curves.mse[0]).toBeCloseTo((4 + 0.16) / 2, 6);
    expect(r.curves.mse[1]).toBeCloseTo(4, 6);
    expect(r.mse).toBeCloseTo((4 + 0.16 + 4 + 4) / 4, 6);
    const pa = -10 * Math.log10(0.25), pb = 20;
    expect(r.curves.psnr[0]).toBeCloseTo((pa + pb) / 2, 5); // not the PSNR of the mean MSE
    expect(r.curves.psnr[0]).not.toBeCloseTo(-10 * Math.log10((0.25 + 0.01) / 2), 2);
    expect(r.psnr).toBeCloseTo((3 * pa + pb) / 4, 5);
  });
});

describe('the test set', () => {
  test('fixed seed on the test digits: the same bytes whatever the chunk, a pinned hash, not a training sequence', () => {
    const h = mmnistTestSetHash(6, 4);
    expect(mmnistTestSetHash(6, 6)).toBe(h);
    expect(mmnistTestSetHash(6, 1)).toBe(h);
    // Pinned: a change of the generator changes the test set, and numbers stop being comparable.
    expect(h).toBe('57e3b1fdaed7856dc4d6b810eccdcaf2babe07a2fb0eb56370f3ad7006059ac4');
    expect(mmnistTestSetHash(7, 4)).not.toBe(h);
    const chunks = [...mmnistTestChunks(6, 4)];
    expect(chunks.map((c) => c.count)).toEqual([4, 2]);
    expect(chunks[0].frames).toBe(20);
    expect(chunks[0].size).toBe(64);
    // the training split with the same seed draws other sequences
    const train = [...movingMnistChunks({ count: 4, seed: 1, split: 'train' })][0];
    expect(Buffer.from(train.pixels).equals(Buffer.from(chunks[0].pixels))).toBe(false);
  });

  test("the probe's labels: the sorted pair of classes (digit order cannot be seen in a frame)", () => {
    const eps = movingMnistEpisodes({ count: 6, seed: 5, split: 'train' });
    const pair = digitPairEpisodes(eps);
    expect(pair[0].labelHeads!.map((h) => h.name)).toEqual(['lower digit class', 'higher digit class']);
    for (let i = 0; i < eps.length; ++i) {
      expect(pair[i].frames).toBe(eps[i].frames); // shared, not copied
      for (let t = 0; t < eps[i].length; ++t) {
        const a = eps[i].labels![2 * t], b = eps[i].labels![2 * t + 1];
        expect([pair[i].labels![2 * t], pair[i].labels![2 * t + 1]]).toEqual([Math.min(a, b), Math.max(a, b)]);
      }
    }
    expect(() => digitPairEpisodes([{ ...eps[0], labelDim: 0, labels: undefined }])).toThrow(/two digit labels/);
  });
});

describe('worldkit bench-model mmnist', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-bench-model-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tiny = (out: string, extra: string[] = []) => [
    'bench-model', 'mmnist', '--quick', '--test_sequences', '8', '--epochs', '1', '--out', out, '--cache_dir', path.join(dir, 'cache'),
    '--config', JSON.stringify({ maxBatchesPerEpoch: 2, trainSequences: 16 }), ...extra,
  ];

  test('a tiny lstm run writes the table and JSON (finite numbers, copy-last row, per-step curves); a rerun resumes', async () => {
    const out = path.join(dir, 'lstm');
    const r = await cli(tiny(out));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const json = readResults(path.join(out, 'results.json'));
    expect(json.format).toBe('worldkit-bench-model/1');
    expect(json.protocol).toMatchObject({ context: 10, horizon: 10, size: 64, channels: 1, testSequences: 8, testSeed: 1 });
    expect(json.protocol.testSha256).toBe(mmnistTestSetHash(8));
    expect(json.rows.map((x) => x.method)).toEqual(['worldkit VAE + LSTM', 'copy last frame', 'VAE reconstruction (ceiling)']);
    expectFiniteRows(json);
    expect(json.training.phases.map((p) => p.name)).toEqual(['VAE', 'LSTM']);
    expect(json.training.phases.every((p) => p.steps === 2)).toBe(true);
    expect(json.machine.cores).toBe(os.cpus().length);
    expect(json.gpuCommand).toMatch(/--predictor lstm --epochs 200 --test_sequences 10000 --device cuda/);
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    expect(md).toContain('| method | MSE / frame | MAE / frame | SSIM | PSNR (dB) | semantic retention | training (min) |');
    expect(md).toMatch(/\| copy last frame \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| ([\d.]+|n\/a) \| - \|/);
    expect(md).toContain('| ConvLSTM-S (OpenSTL), 200 epochs, GPU | 29.80 |');
    expect(md).toContain(json.machine.cpu);
    expect(md).toContain('worldkit bench-model mmnist --predictor lstm --epochs 1 --test_sequences 8');
    expect(r.out).toContain('the 200-epoch protocol on a GPU: worldkit bench-model mmnist --predictor lstm --epochs 200');
    // the rerun keeps the trained phases (same steps, no training) and scores the same numbers
    const again = await cli(tiny(out));
    expect(again.code).toBe(0);
    expect(again.out).toContain('resuming the run in');
    expect(again.out).not.toMatch(/lstm epoch 1\/1/);
    const json2 = readResults(path.join(out, 'results.json'));
    expect(json2.rows.map((x) => x.mse)).toEqual(json.rows.map((x) => x.mse));
    // other training options on the same folder are refused by name
    const other = await cli([...tiny(out), '--budget_minutes', '1']);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/other training options \(budgetMinutes differ\)/);
  });

  test('bad calls give clear errors (exit 2)', async () => {
    const out = path.join(dir, 'bad');
    const cases: [string[], RegExp][] = [
      [['bench-model'], /expected the dataset 'mmnist'.*got none/],
      [['bench-model', 'kth'], /expected the dataset 'mmnist'.*got 'kth'/],
      [['bench-model', 'mmnist', '--predictor', 'gru'], /predictor/],
      [['bench-model', 'mmnist', '--test_sequences', '0'], /--test_sequences must be in 1\.\./],
      [['bench-model', 'mmnist', '--budget_minutes', '-1'], /--budget_minutes must be a number of minutes > 0/],
      [['bench-model', 'mmnist', '--epochs', '0'], /--epochs must be an integer >= 1/],
      [['bench-model', 'mmnist', '--config', '{"lr": 1}'], /--config: unknown field 'lr'/],
      [['bench-model', 'mmnist', '--config', '{"vae": {"inputShape": [3, 64, 64]}}', '--out', out], /inputShape must be \[1, 64, 64\].*single channel/],
      [['bench-model', 'mmnist', '--config', '{"evalBatch": 0}', '--out', out], /config\.evalBatch/],
      [['bench-model', 'mmnist', '--quick', '--predictor', 'convlstm', '--config', '{"convlstm": {"patchSize": 5}}', '--out', out], /--predictor convlstm cannot be built with these options \(config\.convlstm\): .*patchSize/],
      [['bench-model', 'mmnist', '--quick', '--predictor', 'transformer', '--config', '{"transformer": {"hiddenSize": 16, "numHeads": 3}}', '--out', out], /--predictor transformer cannot be built with these options \(config\.transformer\): .*numHeads/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.err).toMatch(re);
    }
    expect(fs.existsSync(out)).toBe(false); // refused before anything was written
  });

  test.each(['convlstm', 'transformer'] as const)('%s: a tiny run from the CLI writes the table; a rerun loads the checkpoint', async (p) => {
    const out = path.join(dir, p);
    const r = await cli(tiny(out, ['--predictor', p]));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const json = readResults(path.join(out, 'results.json'));
    // the pixel predictor has no VAE: no reconstruction row, one training phase
    expect(json.rows.map((x) => x.method)).toEqual(p === 'convlstm' ? ['worldkit ConvLSTM (pixels)', 'copy last frame'] : ['worldkit VAE + Transformer', 'copy last frame', 'VAE reconstruction (ceiling)']);
    expect(json.training.phases.map((x) => x.name)).toEqual(p === 'convlstm' ? ['ConvLSTM (pixels)'] : ['VAE', 'Transformer']);
    expectFiniteRows(json);
    // a rerun loads the trained model from its checkpoint and scores the same numbers
    const again = await cli(tiny(out, ['--predictor', p]));
    expect(again.code).toBe(0);
    expect(again.out).toContain('resuming the run in');
    const json2 = readResults(path.join(out, 'results.json'));
    expect(json2.training.phases).toEqual(json.training.phases);
    expect(json2.rows[0].mse).toBeCloseTo(json.rows[0].mse, 4);
  });
});
