/**
 * `worldkit ablate` / wk.train.ablate on tiny sizes: the table, JSON and report of a two-variant,
 * two-seed run; resuming after an interruption (finished runs skipped, their result.json left
 * untouched, the interrupted training continued from its checkpoint); a budgeted run's plan; and
 * the errors of bad calls (library and CLI).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ABLATE_FULL, ablate, AblationConfig } from '../src/train/ablate';
import type { AblationFile, AblationRun } from '../src/diagnostics/ablation_schema';
import { writeReport } from '../src/diagnostics/report';
import { main } from '../src/cli/main';

const TINY: Partial<AblationConfig> = {
  trainEpisodes: 3,
  testEpisodes: 2,
  steps: 40,
  vae: { encoderChannels: [4, 8, 8, 8], latentShape: [4, 4, 4], seed: 1 },
  bigVae: { latentShape: [8, 4, 4], blocksPerStage: 1 },
  vaeBatch: 16,
  vaeEpochs: 1,
  hiddenSize: 16,
  seqLen: 8,
  predBatch: 4,
  predEpochs: 2,
  maxBatchesPerEpoch: 2,
  context: 2,
  horizon: 4,
  evalWindows: 4,
  evalWindowStride: 8,
  evalFilmstrips: 1,
  probeEpisodes: 2,
  probeHeldOutEpisodes: 1,
  probeEpochs: 1,
  lossProbeEpisodes: 2,
  lossProbeEpochs: 1,
  probe: { channels: [4, 8, 8, 8], hidden: 16 },
  perceptualWeight: 0.5,
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-ablate-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8'), (_k, v) => (v === 'NaN' ? NaN : v)) as T;

describe('ablate', () => {
  test('two variants x two seeds: table, JSON and report with a row per variant and copy-last', async () => {
    const out = path.join(tmp, 'two');
    const lines: string[] = [];
    const r = await ablate({ variants: 'perceptual,baseline', seeds: 2, outDir: out, config: TINY, cacheDir: false, log: (l) => lines.push(l) });
    expect(r.interrupted).toBe(false);
    // canonical order, whatever order they were asked in
    expect(r.ran).toEqual([
      { variant: 'baseline', seed: 1 },
      { variant: 'perceptual', seed: 1 },
      { variant: 'baseline', seed: 2 },
      { variant: 'perceptual', seed: 2 },
    ]);
    const a = readJson<AblationFile>(path.join(out, 'ablation.json'));
    expect(a.rows.map((x) => x.variant)).toEqual(['baseline', 'perceptual']);
    expect(a.copyLast?.variant).toBe('copy-last');
    expect(a.steps).toEqual([1, 4]);
    expect(a.missing).toEqual([]);
    for (const row of a.rows) {
      expect(row.seeds).toEqual([1, 2]);
      const ret = row.metrics['retention@4'];
      expect(ret.n).toBe(2);
      expect(Number.isFinite(ret.mean)).toBe(true);
      // the spread is the sample standard deviation of the two seeds' values
      const vals = a.runs.filter((x) => x.variant === row.variant).map((x) => x.metrics['retention@4']);
      const m = (vals[0] + vals[1]) / 2;
      expect(ret.mean).toBeCloseTo(m, 10);
      expect(ret.std).toBeCloseTo(Math.sqrt((vals[0] - m) ** 2 + (vals[1] - m) ** 2), 10);
      for (const k of ['psnr@4', 'ssim@4', 'latent_mse@4', 'separability@4', 'frechet@4', 'retention_changed@1', 'recon_psnr', 'wall_minutes']) expect(row.metrics[k]).toBeDefined();
    }
    // paired differences, seed by seed: perceptual minus baseline on the same seed, each minus copy-last
    const run = (v: string, seed: number) => a.runs.find((x) => x.variant === v && x.seed === seed)!;
    for (const k of ['retention@1', 'retention@4', 'retention_changed@4']) {
      const d = [1, 2].map((seed) => run('perceptual', seed).metrics[k] - run('baseline', seed).metrics[k]);
      const p = a.rows[1].paired!.baseline![k];
      expect(p.n).toBe(d.filter(Number.isFinite).length);
      if (p.n === 2) {
        expect(p.mean).toBeCloseTo((d[0] + d[1]) / 2, 10);
        expect(p.std).toBeCloseTo(Math.abs(d[0] - d[1]) / Math.SQRT2, 10);
      }
      for (const row of a.rows) {
        const c = [1, 2].map((seed) => run(row.variant, seed).metrics[k] - run(row.variant, seed).metrics[`copy_last_${k}`]).filter(Number.isFinite);
        if (c.length) expect(row.paired!.copyLast![k].mean).toBeCloseTo(c.reduce((x, y) => x + y, 0) / c.length, 10);
      }
    }
    expect(a.rows[0].paired!.baseline).toBeUndefined(); // the baseline is not paired with itself
    // the two variants shared one VAE per seed: the same VAE steps and time
    const runs = a.runs as AblationRun[];
    expect(runs.find((x) => x.variant === 'baseline' && x.seed === 1)!.seconds.vae).toBe(runs.find((x) => x.variant === 'perceptual' && x.seed === 1)!.seconds.vae);
    expect(fs.readdirSync(path.join(out, 'vae_base')).sort()).toEqual(['seed1', 'seed2']);
    // the perceptual variant logged its term: the remedy was applied
    const metrics = fs.readFileSync(path.join(out, 'perceptual', 'seed1', 'predictor', 'metrics.jsonl'), 'utf8');
    expect(metrics).toMatch(/percep/i);
    expect(fs.readFileSync(path.join(out, 'baseline', 'seed1', 'predictor', 'metrics.jsonl'), 'utf8')).not.toMatch(/percep/i);
    for (const v of ['baseline', 'perceptual']) for (const s of [1, 2]) expect(fs.existsSync(path.join(out, v, `seed${s}`, 'result.json'))).toBe(true);
    const md = fs.readFileSync(r.tableFile!, 'utf8');
    expect(md).toMatch(/^\| baseline \| \d\.\d{3} ± \d\.\d{3} \|/m);
    expect(md).toMatch(/^\| perceptual \|/m);
    expect(md).toMatch(/^\| copy-last \|/m);
    expect(md).toContain('sample standard deviation');
    expect(md).toContain('## Against the baseline, seed by seed');
    expect(md).toMatch(/^\| perceptual \| (\*\*)?[+-]\d\.\d{3} ± \d\.\d{3}/m);
    expect(md).toContain('## Against copy-last, seed by seed');
    const html = fs.readFileSync(r.reportFile!, 'utf8');
    expect(html).toContain('class="wk-comparison wk-ablation"');
    expect((html.match(/<tbody>(.*?)<\/tbody>/s)?.[1].match(/<tr>/g) ?? []).length).toBe(3);
    expect(html).toContain('id="ablation-paired"');
    expect(html).toContain('Retention minus the baseline, seed by seed');
    expect(html).not.toContain('class="wk-error"');
    // `worldkit report <out>` writes the same view
    const again = writeReport([out], { out: path.join(tmp, 'again.html') });
    expect(fs.readFileSync(again.file, 'utf8')).toContain('wk-ablation');
    // an ablation.json from before the paired differences still reports, and says what is missing
    const old = path.join(tmp, 'old-ablation');
    fs.mkdirSync(old, { recursive: true });
    fs.writeFileSync(path.join(old, 'ablation.json'), JSON.stringify({ ...a, rows: a.rows.map(({ paired: _p, ...rest }) => rest) }));
    const oldHtml = fs.readFileSync(writeReport([old]).file, 'utf8');
    expect(oldHtml).toContain('No paired differences in this ablation.json');
    expect(oldHtml).not.toContain('class="wk-error"');
    expect(lines.some((l) => /probe \(evaluation\)/.test(l))).toBe(true);
  }, 120000);

  test('the other variants train and evaluate end to end (one seed)', async () => {
    const out = path.join(tmp, 'others');
    const r = await ablate({ variants: 'adversarial,classification,end_to_end,big_vae,all', seeds: 1, outDir: out, config: { ...TINY, predEpochs: 1 }, cacheDir: false });
    const a = r.ablation!;
    expect(a.missing).toEqual([]);
    expect(a.rows.map((x) => x.variant)).toEqual(['adversarial', 'classification', 'end_to_end', 'big_vae', 'all']);
    // two VAEs: the baseline one (adversarial, classification, end_to_end) and the stronger one (big_vae, all)
    expect(fs.readdirSync(out).filter((f) => f.startsWith('vae_')).sort()).toEqual(['vae_base', 'vae_big']);
    const log = (v: string, phase: string) => fs.readFileSync(path.join(out, v, 'seed1', phase, 'metrics.jsonl'), 'utf8');
    expect(log('adversarial', 'predictor')).toMatch(/"discAcc"/);
    expect(log('classification', 'predictor')).toMatch(/classif/i);
    // end to end: the VAE trained with the predictor (a world_model checkpoint holding both)
    expect(JSON.parse(fs.readFileSync(path.join(out, 'end_to_end', 'seed1', 'world_model', 'latest.json'), 'utf8')).latest).toMatch(/^ckpt-/);
    const all = log('all', 'world_model');
    for (const term of [/percep/i, /"discAcc"/, /classif/i]) expect(all).toMatch(term);
    // the stronger VAE is the wider one, trained with its perceptual term
    expect(readJson<{ config: { vae: { latentShape: number[]; blocksPerStage: number } } }>(path.join(out, 'vae_big', 'seed1', fs.readdirSync(path.join(out, 'vae_big', 'seed1')).find((f) => f.startsWith('ckpt-'))!, 'state.json')).config.vae).toMatchObject({ latentShape: [8, 4, 4], blocksPerStage: 1 });
    expect(fs.readFileSync(path.join(out, 'vae_big', 'seed1', 'metrics.jsonl'), 'utf8')).toMatch(/percep/i);
  }, 120000);

  test('an interrupted ablation resumes: finished runs are skipped, the cut training continues from its checkpoint', async () => {
    const out = path.join(tmp, 'resume');
    const signal = { stop: false };
    let batches = 0;
    const cfg = { ...TINY, predEpochs: 3 };
    const first = await ablate({
      variants: ['baseline'],
      seeds: 2,
      outDir: out,
      config: cfg,
      cacheDir: false,
      signal,
      // Ctrl-C during seed 2's predictor training, after its first batch
      callbacks: (label) =>
        label === 'baseline seed 2'
          ? {
              onBatchEnd() {
                if (++batches === 1) signal.stop = true;
              },
            }
          : undefined,
    });
    expect(first.interrupted).toBe(true);
    expect(first.ran).toEqual([{ variant: 'baseline', seed: 1 }]);
    const done = path.join(out, 'baseline', 'seed1', 'result.json');
    const mtime = fs.statSync(done).mtimeMs;
    expect(fs.existsSync(path.join(out, 'baseline', 'seed2', 'result.json'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'baseline', 'seed2', 'predictor', 'latest.json'))).toBe(true);
    // the partial table already has seed 1, and says seed 2 is unfinished
    expect(readJson<AblationFile>(path.join(out, 'ablation.json')).missing).toEqual([{ variant: 'baseline', seed: 2, reason: expect.stringContaining('interrupted') }]);

    signal.stop = false;
    const lines: string[] = [];
    const second = await ablate({ variants: ['baseline'], seeds: 2, outDir: out, config: cfg, cacheDir: false, signal, log: (l) => lines.push(l) });
    expect(second.interrupted).toBe(false);
    expect(second.skipped).toEqual([{ variant: 'baseline', seed: 1 }]);
    expect(second.ran).toEqual([{ variant: 'baseline', seed: 2 }]);
    expect(fs.statSync(done).mtimeMs).toBe(mtime);
    expect(lines.some((l) => /^baseline seed 2: resuming from .*ckpt-/.test(l))).toBe(true);
    // the resumed training ran its 3 epochs of 2 batches in all, not 3 more
    const run = readJson<AblationRun>(path.join(out, 'baseline', 'seed2', 'result.json'));
    expect(run.steps.predictor).toBe(6);
    const a = readJson<AblationFile>(path.join(out, 'ablation.json'));
    expect(a.rows[0].seeds).toEqual([1, 2]);
    expect(a.missing).toEqual([]);

    // the same folder with other options: an error naming the difference
    await expect(ablate({ variants: ['baseline'], seeds: 3, outDir: out, config: cfg, cacheDir: false })).rejects.toThrow(/started with other options: seeds 2 \(now 3\)/);
    await expect(ablate({ variants: ['baseline', 'perceptual'], seeds: 2, outDir: out, config: cfg, cacheDir: false })).rejects.toThrow(/variants baseline \(now baseline,perceptual\)/);
  }, 120000);

  test('a budget is split into equal training times per variant, re-planned at the seed boundary, and one too small is refused', async () => {
    const out = path.join(tmp, 'budget');
    const lines: string[] = [];
    const r = await ablate({ variants: ['baseline'], seeds: 2, budgetMinutes: 0.35, outDir: out, config: { ...TINY, vaeEpochs: null, predEpochs: null }, cacheDir: false, log: (l) => lines.push(l) });
    const a = r.ablation!;
    expect(a.budgetMinutes).toBe(0.35);
    // seed 1 runs the first plan, seed 2 one made from the time left and what seed 1's evaluation cost
    expect(a.seedBudgets!.map((b) => b.seed)).toEqual([1, 2]);
    expect(lines.some((l) => /^plan: seed 2: every variant trains/.test(l))).toBe(true);
    for (const b of a.seedBudgets!) expect(b.vaeMinutes / (b.vaeMinutes + b.predictorMinutes)).toBeCloseTo(ABLATE_FULL.vaeShare, 6);
    for (const run of a.runs) {
      const b = a.seedBudgets!.find((x) => x.seed === run.seed)!;
      expect(run.seconds.predictor / 60).toBeLessThan(b.predictorMinutes * 1.5 + 0.05);
    }
    expect(r.seconds / 60).toBeLessThan(0.35 * 1.3);
    await expect(ablate({ variants: ['baseline'], seeds: 1, budgetMinutes: 0.001, outDir: path.join(tmp, 'small'), config: TINY, cacheDir: false })).rejects.toThrow(/budget 0.001 min is too small/);
    // refused before any training: the folder is not tied to those options
    expect(fs.existsSync(path.join(tmp, 'small', 'ablation_state.json'))).toBe(false);
  }, 120000);

  test('worldkit ablate from the command line: a tiny run prints the table and writes the report', async () => {
    const out = path.join(tmp, 'cli');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`), isTTY: false };
    const code = await main(['ablate', '--variants', 'baseline', '--seeds', '1', '--out', out, '--cache_dir', path.join(tmp, 'cache'), '--config', JSON.stringify(TINY)], io);
    expect(lines.filter((l) => l.startsWith('ERR'))).toEqual([]);
    expect(code).toBe(0);
    expect(lines).toContain(`report: ${path.join(out, 'report.html')}`);
    expect(lines.some((l) => /^\| baseline \| /.test(l))).toBe(true);
    expect(fs.existsSync(path.join(out, 'baseline', 'seed1', 'result.json'))).toBe(true);
    // the same command again: nothing to train, the table rebuilt
    lines.length = 0;
    expect(await main(['ablate', '--variants', 'baseline', '--seeds', '1', '--out', out, '--cache_dir', path.join(tmp, 'cache'), '--config', JSON.stringify(TINY)], io)).toBe(0);
    expect(lines).toContain('baseline seed 1: done before (result.json), skipped');
    expect(lines).toContain('0 run(s) trained and evaluated, 1 done before; ' + lines.find((l) => / done before; /.test(l))!.split('; ')[1]);
    // other options on that folder: a usage error naming the difference
    expect(await main(['ablate', '--variants', 'baseline', '--seeds', '2', '--out', out, '--config', JSON.stringify(TINY)], io)).toBe(2);
    expect(lines.pop()).toMatch(/^ERR worldkit ablate: .* holds an ablation started with other options: seeds 1 \(now 2\)/);
  }, 60000);

  test('Ctrl-C: the real process saves a checkpoint of the phase in progress and exits with 130', async () => {
    const out = path.join(tmp, 'sigint');
    const cli = ['-r', path.resolve('test/helpers/ts_register.js'), path.resolve('src/cli/main.ts')];
    const args = ['ablate', '--variants', 'baseline', '--seeds', '1', '--out', out, '--cache_dir', path.join(tmp, 'cache'), '--config', JSON.stringify({ ...TINY, predEpochs: 100000 })];
    const child = spawn(process.execPath, [...cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', sent = false;
    child.stdout!.on('data', (d) => {
      stdout += d;
      // during the predictor's training, after its first epoch
      if (!sent && /baseline seed 1 epoch 1\/100000/.test(stdout)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupt: saving a checkpoint/);
    expect(stdout).toContain(`interrupted: rerun the same command to resume (${out})`);
    expect(fs.existsSync(path.join(out, 'baseline', 'seed1', 'predictor', 'latest.json'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'baseline', 'seed1', 'result.json'))).toBe(false);
    expect(readJson<{ done: boolean }>(path.join(out, 'baseline', 'seed1', 'predictor', 'phase.json')).done).toBe(false);
  }, 60000);

  test('bad options: clear errors from the library and the command line', async () => {
    expect((await import('../src')).train.ablate).toBe(ablate); // wk.train.ablate
    await expect(ablate({ variants: 'baseline,nope' })).rejects.toThrow('ablate: variants must be names among baseline, perceptual, adversarial, classification, end_to_end, big_vae, all, got string "nope"');
    await expect(ablate({ seeds: 0 })).rejects.toThrow(/^ablate: seeds must be/);
    await expect(ablate({ budgetMinutes: -1 })).rejects.toThrow(/budgetMinutes must be a number of minutes > 0/);
    await expect(ablate({ data: path.join(tmp, 'missing.npz') })).rejects.toThrow(/no such file or folder/);
    await expect(ablate({ config: { nope: 1 } as unknown as Partial<AblationConfig> })).rejects.toThrow(/config\.nope/);
    const err: string[] = [];
    const io = { out: () => {}, err: (l: string) => err.push(l), isTTY: false };
    expect(await main(['ablate', '--variants', 'baseline,big'], io)).toBe(2);
    expect(err.pop()).toBe('worldkit ablate: --variants: unknown variants big (choose among baseline, perceptual, adversarial, classification, end_to_end, big_vae, all)'.replace('variants big', 'variant big'));
    expect(await main(['ablate', '--budget_minutes', '0'], io)).toBe(2);
    expect(err.pop()).toMatch(/--budget_minutes must be a number of minutes > 0/);
    expect(await main(['ablate', '--config', '{"nope": 1}'], io)).toBe(2);
    expect(err.pop()).toMatch(/--config: unknown field 'nope'/);
  });
});
