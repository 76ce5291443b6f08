/**
 * Moving MNIST, the standard 10 -> 10 protocol, end to end within a wall-clock budget: gray
 * 64x64 sequences of two digits (10,000 for training, 1,000 for testing, 20 frames each), a
 * [1,64,64] ConvVAE trained with the BCE reconstruction loss, an LSTM latent predictor trained
 * with scheduled sampling after a burn-in of the 10 context frames, then every test sequence
 * rolled out (10 frames in, 10 imagined) and scored as the literature scores it (docs/metrics.md):
 * per-frame MSE and MAE (sums over the 64x64 pixels in [0, 1]), SSIM and PSNR (means of per-frame
 * values), against copy-last-frame and the VAE's own reconstruction (the ceiling).
 *
 *   npx tsc -p tsconfig.json --outDir build-examples && node build-examples/examples/moving_mnist.js --budget-minutes 10
 *   (in your project: import * as wk from 'worldkit')
 *
 * The budget covers everything: data, the VAE (budgetMinutes: a share of what is left), encoding,
 * the predictor (what is left after the evaluation's measured cost is set aside) and the evaluation.
 */
import * as wk from '../src/index';

export interface MovingMnistExampleOptions {
  /** Minutes for the whole run (default 10). */
  budgetMinutes?: number;
  /** Training and test sequences (default 10,000 and 1,000). */
  trainSequences?: number;
  testSequences?: number;
  /** Training sequences whose latents the predictor learns from (default 2,000: encoding them all would take much of a small budget). */
  predictorSequences?: number;
  /** Share of the time left after the data that goes to the VAE (default 0.45). */
  vaeShare?: number;
  /** Tiny models and data, for the test of this example (seconds, numbers meaningless). */
  fast?: boolean;
  device?: 'cpu' | 'cuda';
  log?: (line: string) => void;
}

export interface MovingMnistRow {
  name: string;
  /** Per-frame MSE and MAE (OpenSTL: sums over the frame), mean SSIM and PSNR over the 10 predicted frames of every test sequence. */
  mse: number;
  mae: number;
  ssim: number;
  psnr: number;
}

export interface MovingMnistExampleResult {
  rows: MovingMnistRow[];
  /** The world model's per-frame MSE at each of the 10 predicted steps. */
  msePerStep: number[];
  table: string;
  minutes: number;
  vae: { steps: number; plannedSteps: number; minutes: number };
  predictor: { steps: number; plannedSteps: number; minutes: number; sequences: number };
  testSequences: number;
}

export async function main(o: MovingMnistExampleOptions = {}): Promise<MovingMnistExampleResult> {
  const log = o.log ?? ((s: string) => console.log(s));
  const fast = !!o.fast;
  const budget = o.budgetMinutes ?? 10;
  const start = performance.now();
  const minutesLeft = () => budget - (performance.now() - start) / 60000;
  const nTrain = o.trainSequences ?? (fast ? 24 : 10000);
  const nTest = o.testSequences ?? (fast ? 4 : 1000);
  const nPred = Math.min(nTrain, o.predictorSequences ?? (fast ? 24 : 2000));
  const device = o.device ?? 'cpu';

  // Data: uint8 gray frames [20,64,64,1], generated in chunks (no float copy).
  const train = wk.data.movingMnistEpisodes({ count: nTrain, seed: 1, split: 'train' });
  const test = wk.data.movingMnistEpisodes({ count: nTest, seed: 1, split: 'test' });
  log(`data: ${nTrain} training and ${nTest} test sequences of 20 gray 64x64 frames (${((performance.now() - start) / 1000).toFixed(1)} s)`);

  // The VAE: BCE reconstruction (MSE's easy minimum on sparse digits is an all-black frame).
  const vae = wk.train.createVAE({
    inputShape: [1, 64, 64],
    encoderChannels: fast ? [4, 8, 8, 16] : [16, 32, 64, 128],
    latentShape: fast ? [4, 4, 4] : [32, 4, 4],
    reconLoss: 'bce',
    beta: 0.5,
    seed: 1,
    device,
  });
  const vaeMinutes = Math.max(0.01, minutesLeft() * (o.vaeShare ?? 0.45));
  const vr = await wk.train.trainVAE(vae, train, {
    budgetMinutes: vaeMinutes,
    batchSize: fast ? 8 : 32,
    lr: 2e-3,
    lrSchedule: 'cosine',
    validationSplit: fast ? 0.1 : 0.01,
    maxValidationFrames: fast ? 16 : 256,
    seed: 1,
    callbacks: { onNote: (m) => log(`note: ${m}`) },
  });
  log(`VAE: ${vr.step} steps in ${(vr.budget!.wallMs / 60000).toFixed(2)} of ${vaeMinutes.toFixed(2)} min (${vr.budget!.msPerStep.toFixed(0)} ms a step), validation recon ${vr.history[vr.history.length - 1]?.valRecon?.toFixed(1)} per frame`);

  // The predictor: latents of nPred training sequences, windows of all 20 frames, the first 10
  // inputs always true (burn-in), scheduled sampling on the 10 it must imagine.
  const t0 = performance.now();
  const predEps = train.slice(0, nPred);
  const latents = wk.train.encodeEpisodes(vae, predEps);
  log(`encoded ${nPred} sequences in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const predictor = wk.train.createPredictor(vae, { data: predEps, hiddenSize: fast ? 16 : 256, seed: 2 });
  // Set the evaluation's cost aside: time it on a few test sequences, scale to all of them.
  const probeN = Math.min(nTest, fast ? 2 : 16);
  wk.diagnostics.evaluateRollouts(predictor, vae, test.slice(0, 2), { context: 10, horizon: 10, maxWindows: 2 }); // warms up
  const te = performance.now();
  wk.diagnostics.evaluateRollouts(predictor, vae, test.slice(0, probeN), { context: 10, horizon: 10, maxWindows: probeN });
  const evalMinutes = (((performance.now() - te) / probeN) * nTest * 1.1) / 60000;
  const predMinutes = Math.max(0.01, minutesLeft() - evalMinutes);
  const pr = await wk.train.trainPredictor(predictor, vae, predEps, {
    latents,
    budgetMinutes: predMinutes,
    seqLen: 20,
    burnIn: 10,
    scheduledSampling: true,
    samplingSchedule: { decay: 'linear', start: 1, end: 0 },
    batchSize: fast ? 4 : 32,
    lr: 1e-3,
    lrSchedule: 'cosine',
    gradClip: 1,
    validationSplit: 0.05,
    seed: 3,
    callbacks: { onNote: (m) => log(`note: ${m}`) },
  });
  log(`predictor: ${pr.step} steps in ${(pr.budget!.wallMs / 60000).toFixed(2)} of ${predMinutes.toFixed(2)} min (${pr.budget!.msPerStep.toFixed(0)} ms a step; evaluation set aside: ${evalMinutes.toFixed(2)} min), val open-loop ${pr.history[pr.history.length - 1]?.valOpenLoop?.toExponential(3)}`);

  // 10 -> 10 on every test sequence.
  const ev = wk.diagnostics.evaluateRollouts(predictor, vae, test, { context: 10, horizon: 10, maxWindows: nTest });
  const s = ev.summary;
  const rows: MovingMnistRow[] = [
    { name: 'world model (VAE + LSTM)', mse: s.frameMseVsReal, mae: s.frameMaeVsReal, ssim: s.ssimVsReal, psnr: s.psnrVsReal },
    { name: 'copy last frame', mse: s.baselineFrameMseVsReal, mae: s.baselineFrameMaeVsReal, ssim: s.baselineSsimVsReal, psnr: s.baselinePsnrVsReal },
    { name: 'VAE reconstruction (ceiling)', mse: s.reconFrameMseVsReal, mae: s.reconFrameMaeVsReal, ssim: s.reconSsimVsReal, psnr: s.reconPsnrVsReal },
  ];
  const minutes = (performance.now() - start) / 60000;
  const table = [
    `Moving MNIST 10 -> 10, ${ev.windows} test sequences (${minutes.toFixed(1)} min of a ${budget} min budget)`,
    '',
    '| | MSE / frame | MAE / frame | SSIM | PSNR (dB) |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.name} | ${r.mse.toFixed(1)} | ${r.mae.toFixed(1)} | ${r.ssim.toFixed(3)} | ${r.psnr.toFixed(2)} |`),
    '',
    `world model MSE / frame at steps 1..10: ${ev.frameMseVsReal!.map((v) => v.toFixed(0)).join(', ')}`,
  ].join('\n');
  log(table);
  return {
    rows,
    msePerStep: ev.frameMseVsReal!,
    table,
    minutes,
    vae: { steps: vr.step, plannedSteps: vr.budget!.plannedSteps, minutes: vr.budget!.wallMs / 60000 },
    predictor: { steps: pr.step, plannedSteps: pr.budget!.plannedSteps, minutes: pr.budget!.wallMs / 60000, sequences: nPred },
    testSequences: ev.windows,
  };
}

if (require.main === module) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.findIndex((a) => a === `--${name}` || a === `--${name.replace(/-/g, '_')}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  main({
    budgetMinutes: num('budget-minutes'),
    trainSequences: num('train'),
    testSequences: num('test'),
    predictorSequences: num('predictor-sequences'),
    device: arg('device') as 'cpu' | 'cuda' | undefined,
    fast: process.argv.includes('--fast'),
  }).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
