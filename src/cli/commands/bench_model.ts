/** `worldkit bench-model mmnist`: the Moving MNIST protocol of the video-prediction literature (src/train/bench_model.ts). */
import * as fs from 'fs';
import { Command } from '../command';
import { UsageError } from '../flags';
import { BENCH_MODEL_FULL, BENCH_PREDICTORS, benchGpuCommand, benchModel } from '../../train/bench_model';
import { DEVICE_FLAG, deviceFlag, interruptible, jsonConfigFlag, progress } from '../train_support';

export const command: Command = {
  name: 'bench-model',
  summary: 'the Moving MNIST protocol (10 frames in, 10 predicted): train a predictor within a budget and score it as OpenSTL does (MSE, MAE, SSIM, PSNR, semantic retention)',
  usage: `worldkit bench-model mmnist [--predictor ${BENCH_PREDICTORS.join('|')}] [--budget_minutes 60] [--epochs E] [--test_sequences 10000] [--out dir] [--device cpu|cuda]

Moving MNIST as the video-prediction literature reports it: 64x64 single-channel sequences of two
digits, 10 frames in, 10 predicted. Trains the predictor on sequences of the training digits (a
VAE then the latent predictor for lstm / transformer; the pixel-space ConvLSTM alone for
convlstm) within --budget_minutes of training time (default 60; data, probe and evaluation are
outside it) or for --epochs, then scores --test_sequences sequences of the test digits from a
fixed seed: per-frame MSE and MAE (sums over the 64x64 pixels, values in [0, 1]), SSIM and PSNR,
each averaged over the 10 predicted frames and the sequences (OpenSTL's tables), per step too,
copy-last-frame on the same sequences, and the semantic retention of the digits' classes (a probe
trained on real frames: its accuracy on predictions / on real frames). Writes OUT/results.md and
OUT/results.json. Rerunning the same command resumes (finished phases are kept, an interrupted one
continues from its checkpoint); Ctrl-C saves a checkpoint and exits 130. See docs/predictors.md.`,
  flags: [
    { name: 'predictor', type: 'string', default: 'lstm', choices: [...BENCH_PREDICTORS], help: 'lstm or transformer (over VAE latents), convlstm (pixels)' },
    { name: 'budget_minutes', type: 'number', metavar: 'min', help: 'training time (default 60 unless --epochs is given; with --epochs too, the epochs are a limit)' },
    { name: 'epochs', type: 'int', help: 'epochs of every training phase over the training sequences (no time budget unless --budget_minutes is given)' },
    { name: 'test_sequences', type: 'int', default: 10000, help: 'test sequences (fixed seed, test digits)' },
    { name: 'out', type: 'string', metavar: 'dir', help: 'output folder (default runs/bench_model/mmnist_<predictor>)' },
    { name: 'quick', type: 'boolean', default: false, help: 'tiny data and models (seconds; the numbers mean nothing)' },
    { name: 'config', type: 'string', metavar: 'json|file', help: 'other sizes as a JSON object of configuration fields (e.g. {"trainSequences": 2000})' },
    { name: 'cache_dir', type: 'string', metavar: 'dir', help: 'probe cache (default $WORLDKIT_CACHE or ~/.cache/worldkit)' },
    DEVICE_FLAG,
  ],
  async run({ flags, positionals }, io) {
    if (positionals.length !== 1 || positionals[0] !== 'mmnist')
      throw new UsageError(`expected the dataset 'mmnist' (the only protocol so far), got ${positionals.length ? positionals.map((p) => `'${p}'`).join(' ') : 'none'}`);
    const device = deviceFlag(flags);
    const b = flags.budget_minutes as number | undefined;
    if (b !== undefined && !(b > 0 && Number.isFinite(b))) throw new UsageError(`--budget_minutes must be a number of minutes > 0, got ${b}`);
    const epochs = flags.epochs as number | undefined;
    if (epochs !== undefined && !(epochs >= 1)) throw new UsageError(`--epochs must be an integer >= 1, got ${epochs}`);
    const nTest = flags.test_sequences as number;
    if (!(nTest >= 1 && nTest <= 1 << 20)) throw new UsageError(`--test_sequences must be in 1..${1 << 20}, got ${nTest}`);
    const predictor = String(flags.predictor);
    const config = jsonConfigFlag(flags.config, BENCH_MODEL_FULL);
    const argv = [
      `--predictor ${predictor}`,
      b !== undefined ? `--budget_minutes ${b}` : '',
      epochs !== undefined ? `--epochs ${epochs}` : '',
      `--test_sequences ${nTest}`,
      flags.out !== undefined ? `--out ${String(flags.out)}` : '',
      flags.quick ? '--quick' : '',
      config ? `--config '${JSON.stringify(config)}'` : '',
      device !== 'cpu' ? `--device ${device}` : '',
    ].filter(Boolean);
    const intr = interruptible(io);
    try {
      const r = await benchModel({
        predictor,
        budgetMinutes: b,
        epochs,
        testSequences: nTest,
        outDir: flags.out as string | undefined,
        quick: flags.quick as boolean,
        config,
        cacheDir: (flags.cache_dir as string | undefined) ?? undefined,
        device,
        command: `worldkit bench-model mmnist ${argv.join(' ')}`,
        log: (l) => io.out(l),
        callbacks: (label) => progress(io, label),
        signal: intr.signal,
      });
      if (r.interrupted) {
        io.out(`interrupted: rerun the same command to resume (${r.outDir})`);
        return 130;
      }
      io.out('');
      for (const line of fs.readFileSync(r.tableFile!, 'utf8').trimEnd().split('\n')) io.out(line);
      io.out('');
      io.out(`table: ${r.tableFile}`);
      io.out(`json: ${r.jsonFile}`);
      io.out(`the 200-epoch protocol on a GPU: ${benchGpuCommand(predictor)}`);
      return 0;
    } catch (e) {
      // a folder started with other options, a predictor this build lacks, bad sizes: the call's fault
      const m = (e as Error).message ?? '';
      if (/^(bench-model|benchModel): /.test(m)) throw new UsageError(m.replace(/^(bench-model|benchModel): /, ''));
      throw e;
    } finally {
      intr.release();
    }
  },
};
