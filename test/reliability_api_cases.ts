/**
 * Bad API inputs for test/reliability_api.test.ts. Each case calls worldkit with one bad input;
 * the runner (test/helpers/api_case_runner.js) executes them in a child process, so a case that
 * aborts the process (V8 heap limit, native assert) or hangs is seen as such instead of taking
 * the test runner down. `error` is the expected class (by name), `match` must appear in the
 * message: the function and the argument at fault.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
type WK = any;

export interface ApiCase {
  name: string;
  error: 'TypeError' | 'RangeError' | 'Error' | 'CheckpointError' | 'DataFileError' | 'NonFiniteLossError';
  match: RegExp[];
  run(wk: WK): unknown;
}

// Small models and data shared by the training cases (built lazily, once per child process).
let tiny: { vae: any; predictor: any; eps: any[] } | null = null;
function small(wk: WK) {
  if (!tiny) {
    const eps = wk.data.generateEpisodes({ episodes: 2, steps: 24, seed: 1, cacheDir: false });
    const vae = wk.train.createVAE({ encoderChannels: [4, 4, 4, 4], latentShape: [2, 4, 4], seed: 1 });
    const predictor = wk.train.createPredictor(vae, { hiddenSize: 8, actionSize: 3 });
    tiny = { vae, predictor, eps };
  }
  return tiny;
}
const predictorCase = (name: string, opts: Record<string, unknown>, match: RegExp[], error: ApiCase['error'] = 'TypeError'): ApiCase => ({
  name,
  error,
  match,
  run: (wk) => {
    const t = small(wk);
    if (opts.latents === 'wrong-size' || opts.latents === 'nan') {
      const D = opts.latents === 'nan' ? 32 : 10;
      const lat = t.eps.map((e: any) => ({ length: e.length, latentSize: D, z: new Float32Array(e.length * D), actionDim: e.actionDim, actions: e.actions }));
      if (opts.latents === 'nan') lat[1].z[3] = NaN;
      opts = { ...opts, latents: lat };
    }
    return wk.train.trainPredictor(t.predictor, t.vae, t.eps, { epochs: 1, seqLen: 4, batchSize: 2, maxBatchesPerEpoch: 1, ...opts });
  },
});
const vaeCase = (name: string, opts: Record<string, unknown>, match: RegExp[], error: ApiCase['error'] = 'TypeError'): ApiCase => ({
  name,
  error,
  match,
  run: (wk) => {
    const t = small(wk);
    return wk.train.trainVAE(t.vae, t.eps, { epochs: 1, batchSize: 2, maxBatchesPerEpoch: 1, ...opts });
  },
});

/**
 * A VAE checkpoint written by a valid writer (so its checksums are right) but with one field of
 * the state bad, then resumed: the error must name the checkpoint's state.json.
 */
function resumeFrom(name: string, edit: Record<string, unknown>, match: RegExp): ApiCase {
  return {
    name,
    error: 'CheckpointError',
    match: [/state\.json/, match],
    run: async (wk) => {
      const t = small(wk);
      const vae = wk.train.createVAE({ encoderChannels: [4, 4, 4, 4], latentShape: [2, 4, 4], seed: 1 }); // t.vae is frozen by the predictor cases
      const dir = require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'wk-api-ck-'));
      const opt = new wk.optim.Adam(vae.parameters(), { lr: 1e-3 });
      wk.train.saveCheckpoint(dir, {
        kind: 'vae', config: { vae: {} }, modules: { vae }, optimizer: opt, epoch: 0, batch: 1, step: 1,
        schedule: { step: 1, baseLr: 1e-3 }, rng: { noise: { seed: 1, offset: 0 } }, metrics: [], trainer: {}, ...edit,
      });
      return wk.train.trainVAE(vae, t.eps, { epochs: 1, batchSize: 2, maxBatchesPerEpoch: 1, checkpointDir: dir, resume: true, metricsFile: null });
    },
  };
}

export const CASES: ApiCase[] = [
  // Options that used to loop forever or allocate without bound.
  predictorCase('trainPredictor windowStride 0', { windowStride: 0 }, [/trainPredictor/, /windowStride/]),
  predictorCase('trainPredictor windowStride 0.5', { windowStride: 0.5 }, [/trainPredictor/, /windowStride/]),
  predictorCase('trainPredictor windowStride -1', { windowStride: -1 }, [/trainPredictor/, /windowStride/]),
  predictorCase('trainPredictor maxValidationWindows NaN', { maxValidationWindows: NaN }, [/trainPredictor/, /maxValidationWindows/]),
  predictorCase('trainPredictor keepCheckpoints 0', { keepCheckpoints: 0 }, [/trainPredictor/, /keepCheckpoints/]),
  vaeCase('trainVAE warmupSteps -1', { warmupSteps: -1, lrSchedule: 'cosine' }, [/trainVAE/, /warmupSteps/]),
  vaeCase('trainVAE lrStepEpochs 0.5', { lrStepEpochs: 0.5, lrSchedule: 'step' }, [/trainVAE/, /lrStepEpochs/]),
  vaeCase('trainVAE weightDecay NaN', { weightDecay: NaN }, [/trainVAE/, /weightDecay/]),
  vaeCase('trainVAE maxValidationFrames -3', { maxValidationFrames: -3 }, [/trainVAE/, /maxValidationFrames/]),
  vaeCase('trainVAE batchSize 0', { batchSize: 0 }, [/trainVAE/, /batchSize/]),
  // Episodes and latents that do not match their sizes (used to train on zeros or read past the data).
  {
    name: 'trainVAE: frames shorter than length',
    error: 'RangeError',
    match: [/trainVAE/, /dataset episode 0/, /frames must have/],
    run: (wk) => {
      const e = small(wk).eps[0];
      return wk.train.trainVAE(wk.train.createVAE({ encoderChannels: [4, 4, 4, 4], latentShape: [2, 4, 4] }), [{ ...e, frames: e.frames.subarray(0, e.frames.length - 64 * 64 * 3) }], { epochs: 1 });
    },
  },
  {
    name: 'trainVAE: NaN action',
    error: 'RangeError',
    match: [/trainVAE/, /dataset episode 1/, /actions\[2\]\[1\] is NaN/],
    run: (wk) => {
      const [e0, e1] = small(wk).eps;
      const actions = e1.actions.slice();
      actions[7] = NaN;
      return wk.train.trainVAE(wk.train.createVAE({ encoderChannels: [4, 4, 4, 4], latentShape: [2, 4, 4] }), [e0, { ...e1, actions }], { epochs: 1 });
    },
  },
  predictorCase('trainPredictor: latents of the wrong size', { latents: 'wrong-size' }, [/trainPredictor/, /options\.latents\[0\]\.latentSize must be the VAE's 32, got 10/], 'RangeError'),
  predictorCase('trainPredictor: latents with NaN', { latents: 'nan' }, [/trainPredictor/, /options\.latents\[1\]\.z\[0\]\[3\] is NaN/], 'RangeError'),
  // Sizes beyond the limit: a typed error before allocating (was V8's "Invalid typed array length" or a long allocation).
  { name: 'zeros huge', error: 'RangeError', match: [/^zeros: shape must have at most 2147483647 elements/, /\[100000,100000\]/], run: (wk) => wk.zeros([1e5, 1e5]) },
  { name: 'zeros bad shape says zeros', error: 'TypeError', match: [/^zeros: shape must be/], run: (wk) => wk.zeros([2, -1]) },
  { name: 'ones bad dtype says ones', error: 'TypeError', match: [/^ones: dtype must be/], run: (wk) => wk.ones([2], { dtype: 'int8' }) },
  { name: 'full huge', error: 'RangeError', match: [/^full: shape must have at most/], run: (wk) => wk.full([1e6, 1e6], 1) },
  { name: 'randn huge', error: 'RangeError', match: [/^randn: shape must have at most/], run: (wk) => wk.randn([1e6, 1e6]) },
  { name: 'rand huge', error: 'RangeError', match: [/^rand: shape must have at most/], run: (wk) => wk.rand([3e9]) },
  { name: 'arange huge', error: 'RangeError', match: [/^arange: n must be an integer in \[0, 2147483647\], got 1000000000000/], run: (wk) => wk.arange(1e12) },
  { name: 'arange negative', error: 'RangeError', match: [/^arange: n must be an integer/], run: (wk) => wk.arange(-3) },
  { name: 'arange fractional', error: 'TypeError', match: [/^arange: n must be an integer/], run: (wk) => wk.arange(2.5) },
  { name: 'tensor huge shape', error: 'RangeError', match: [/^tensor: shape must have at most/], run: (wk) => wk.tensor([1], [1e5, 1e5]) },
  { name: 'matmul huge output', error: 'RangeError', match: [/^matmul: the output .* must have at most 2147483647 elements .*got \[100000,100000\]/], run: (wk) => wk.zeros([1e5, 1]).matmul(wk.zeros([1, 1e5])) },
  { name: 'createVAE huge channels', error: 'RangeError', match: [/^createVAE: encoderChannels\[1\] must be an integer in \[1, 8192\], got 1000000/], run: (wk) => wk.train.createVAE({ encoderChannels: [16, 1e6, 64, 128] }) },
  { name: 'createVAE huge kernel', error: 'RangeError', match: [/^createVAE: encoderKernel x encoderChannels/], run: (wk) => wk.train.createVAE({ encoderChannels: [8192, 8192], encoderKernel: 64 }) },
  { name: 'createPredictor huge hiddenSize', error: 'RangeError', match: [/^createPredictor: hiddenSize must be an integer in \[1, 23170\], got 1000000/], run: (wk) => wk.train.createPredictor({ latentShape: [2, 4, 4] }, { hiddenSize: 1e6 }) },
  { name: 'createPredictor hiddenSize x latent too big', error: 'RangeError', match: [/^createPredictor: hiddenSize 20000 with a latent of 65536 values/], run: (wk) => wk.train.createPredictor({ latentShape: [4096, 4, 4] }, { hiddenSize: 20000 }) },
  { name: 'LSTM huge hiddenSize', error: 'RangeError', match: [/^LSTM: weight_hh/], run: (wk) => new wk.nn.LSTM(4, 1e6) },
  { name: 'generateEpisodes huge steps', error: 'RangeError', match: [/^generateEpisodes: steps must be at most 174762/], run: (wk) => wk.data.generateEpisodes({ episodes: 1, steps: 1 << 20, cacheDir: false }) },
  { name: 'generateEpisodes huge total', error: 'RangeError', match: [/^generateEpisodes: episodes x steps must be at most/], run: (wk) => wk.data.generateEpisodes({ episodes: 1 << 20, steps: 1000, cacheDir: false }) },
  { name: 'movingMnist huge set', error: 'RangeError', match: [/^movingMnist: count x frames x size x size .* must have at most/], run: (wk) => wk.data.movingMnist({ count: 1 << 22, frames: 1000 }) },
  { name: 'createPredictor null vae', error: 'TypeError', match: [/^createPredictor: vae must be a ConvVAE/], run: (wk) => wk.train.createPredictor(null) },
  { name: 'loadVAE empty path', error: 'TypeError', match: [/^loadCheckpoint: path must be a checkpoint folder/, /empty string/], run: (wk) => wk.train.loadVAE('') },
  { name: 'randn std NaN', error: 'TypeError', match: [/^randn: std must be a finite number, got NaN/], run: (wk) => wk.randn([2], { std: NaN }) },
  { name: 'rand high Infinity', error: 'TypeError', match: [/^rand: high must be a finite number, got Infinity/], run: (wk) => wk.rand([2], { high: Infinity }) },
  { name: 'Linear huge', error: 'RangeError', match: [/^Linear: weight \(outFeatures x inFeatures\) must have at most/], run: (wk) => new wk.nn.Linear(1e5, 1e5) },
  { name: 'Conv2d huge', error: 'RangeError', match: [/^Conv2d: weight \(channels x kernel\) must have at most/], run: (wk) => new wk.nn.Conv2d(1e4, 1e4, 5) },
  { name: 'loadNpzEpisode huge frame size', error: 'RangeError', match: [/^loadNpzEpisode: options\.height must be an integer in \[1, 8192\], got 100000/], run: (wk) => wk.data.loadNpzEpisode('x.npz', { height: 1e5, width: 1e5 }) },
  { name: 'loadPngEpisode bad frame size', error: 'TypeError', match: [/^loadPngEpisode: options\.width must be an integer/], run: (wk) => wk.data.loadPngEpisode('.', { width: 0.5 }) },
  { name: 'loadNpzDataset huge frame size', error: 'RangeError', match: [/^loadNpzDataset: options\.width must be an integer in \[1, 8192\]/], run: (wk) => wk.data.loadNpzDataset('.', { width: 1e9 }) },
  { name: 'DrivingSim.drive huge n', error: 'RangeError', match: [/^DrivingSim\.drive: n must be an integer in \[0, 174762\], got 16777216/], run: (wk) => new wk.data.DrivingSim(1).drive(1 << 24) },
  // backward() twice raises, as PyTorch does (it silently did nothing).
  {
    name: 'backward twice',
    error: 'Error',
    match: [/^backward: tensor .* was already backpropagated through, and its graph was freed/],
    run: (wk) => {
      const w = wk.randn([3], { seed: 1 }).requireGrad();
      const l = w.square().sum();
      l.backward();
      l.backward();
    },
  },
  {
    name: 'backward through a freed intermediate',
    error: 'Error',
    match: [/^backward: tensor .*\(an input of .*\) was already backpropagated through/],
    run: (wk) => {
      const w = wk.randn([3], { seed: 1 }).requireGrad();
      const y = w.square();
      y.sum().backward();
      y.mul(2).sum().backward();
    },
  },
  // Checkpoint state that used to load (or fail naming no file).
  resumeFrom('resume: optimizer null', { optimizer: null }, /optimizer is null/),
  resumeFrom('resume: schedule null', { schedule: null }, /schedule is null/),
  resumeFrom('resume: bad rng state', { rng: { noise: { seed: -1, offset: 0 } } }, /rng\.noise: Generator\.setState: seed/),
  resumeFrom('resume: metrics not an array', { metrics: { push: 1 } as unknown as unknown[] }, /metrics must be an array/),
  resumeFrom('resume: trainer state malformed', { trainer: { sums: 'x' } }, /trainer state is malformed/),
];
