/**
 * report.html in a real browser: Debian's Chromium (`apt-get install chromium`; .ci/run installs
 * it) driven by playwright-core, which downloads no browser and is given the executable. The page
 * must load from file:// with no console error and no failed request, draw every chart, show one
 * t-SNE mark per point, put each probe label under its frame, and show the comparison table with
 * two runs. Screenshots go to test-artifacts/ (report.png: one run; report_compare.png: two;
 * report_real.png: a tiny real run, simulator data through evaluateWorldModel, as the demo writes it;
 * report_ablation.png: the comparison view of an ablation folder, as `worldkit ablate` writes it).
 *
 * Without Chromium the test fails under CI (process.env.CI), where .ci/run must have installed
 * it, and is skipped elsewhere with the reason printed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { chromium, BrowserContext } from 'playwright-core';
import { writeReport, writeAblationReport } from '../src/diagnostics/report';
import { ablationRunMetrics, summarizeAblation } from '../src/train/ablate';
import type { AblationRun } from '../src/diagnostics/ablation_schema';
import { evaluateWorldModel } from '../src/diagnostics/world_model_eval';
import { trainSemanticProbe } from '../src/diagnostics/semantic_probe';
import { generateEpisodes } from '../src/data/driving_sim';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor } from '../src/train/train_predictor';
import { FRAME, makeRunFolder } from './helpers/report_fixture';

// page.evaluate callbacks run in the page: the project's lib has no DOM types, so the few DOM
// objects used there are typed loosely here instead of adding 'dom' to the whole compilation.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
type DomEl = any;

const CHROMIUM = process.env.WORLDKIT_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');
if (!haveChromium && !process.env.CI) console.log(`test/report_browser.test.ts skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set WORLDKIT_CHROMIUM)`);
const browserTest = haveChromium || process.env.CI ? test : test.skip;

let tmp: string;
let ctx: BrowserContext | null = null;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-report-browser-'));
  if (!haveChromium) return;
  ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60000);

afterAll(async () => {
  await ctx?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface PageReport {
  errors: string[];
  failed: string[];
  foreign: string[];
  charts: { cls: string; marks: number; drawn: number; circles: number; dataPoints: string | null; inside: boolean }[];
  images: { n: number; broken: number };
  comparisonRows: number;
  /** Per filmstrip window: the largest distance (CSS px) between a label cell's centre and its frame's centre. */
  labelMisalignment: number[];
  labelCells: number;
}

/** `framePx`: width of one frame inside the strip PNGs (contactSheet layout: 2 px gaps, also at both ends). */
async function open(file: string, screenshot: string, framePx = 2 * FRAME): Promise<PageReport> {
  if (!ctx) throw new Error(`Chromium is required for the report test under CI but ${CHROMIUM} does not exist: .ci/run installs it (apt-get install -y chromium)`);
  const page = await ctx.newPage();
  const errors: string[] = [], failed: string[] = [], foreign: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => failed.push(`${r.url().slice(0, 80)}: ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (!/^(file|data):/.test(r.url())) foreign.push(r.url());
  });
  const resp = await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  expect(resp === null || resp.ok()).toBe(true);
  const info = await page.evaluate((frame: number) => {
    const charts = [...document.querySelectorAll('svg.wk-chart')].map((svg) => {
      const box = svg.getBoundingClientRect();
      const marks = [...svg.querySelectorAll('.wk-mark')] as DomEl[];
      const drawn = marks.filter((m) => {
        const b = m.getBBox();
        const r = m.getBoundingClientRect();
        return (b.width > 0 || b.height > 0) && (r.width > 0 || r.height > 0);
      });
      // every circle inside the chart's own box (nothing drawn off the canvas)
      const circles = [...svg.querySelectorAll('circle')];
      const inside = circles.every((c) => {
        const r = c.getBoundingClientRect();
        return r.left >= box.left - 1 && r.right <= box.right + 1 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
      });
      return { cls: svg.getAttribute('class') ?? '', marks: marks.length, drawn: drawn.length, circles: circles.length, dataPoints: svg.getAttribute('data-points'), inside };
    });
    const imgs = [...document.images];
    const cmp = document.querySelector('table.wk-comparison');
    // label cells under the predicted strip: centre of cell k against the centre of frame k in the
    // image (frames of `frame` PNG pixels, 2 px gaps on both ends)
    const labelMisalignment: number[] = [];
    let labelCells = 0;
    for (const film of document.querySelectorAll('.wk-film')) {
      const img = [...film.querySelectorAll('img.wk-strip')].find((i) => i.getAttribute('alt')?.startsWith('predicted')) as DomEl | undefined;
      if (!img) continue;
      const r = img.getBoundingClientRect();
      const s = r.width / img.naturalWidth;
      let worst = 0;
      for (const row of film.querySelectorAll('.wk-cols:not(.wk-steps)')) {
        [...row.children].forEach((cell, k) => {
          const c = cell.getBoundingClientRect();
          const want = r.left + s * (2 + k * (frame + 2) + frame / 2);
          worst = Math.max(worst, Math.abs((c.left + c.right) / 2 - want));
          labelCells++;
        });
      }
      labelMisalignment.push(worst);
    }
    return {
      charts,
      images: { n: imgs.length, broken: imgs.filter((i) => !i.complete || i.naturalWidth === 0).length },
      comparisonRows: cmp ? cmp.querySelectorAll('tbody tr').length : -1,
      labelMisalignment,
      labelCells,
    };
  }, framePx);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, screenshot), fullPage: true });
  await page.close();
  return { errors, failed, foreign, ...info };
}

function expectDrawn(p: PageReport, expectedCharts: number): void {
  expect(p.errors).toEqual([]);
  expect(p.failed).toEqual([]);
  expect(p.foreign).toEqual([]);
  expect(p.charts.length).toBe(expectedCharts);
  for (const c of p.charts) {
    expect(c.drawn).toBeGreaterThan(0);
    expect(c.drawn).toBe(c.marks);
    expect(c.inside).toBe(true);
  }
  expect(p.images.n).toBeGreaterThan(0);
  expect(p.images.broken).toBe(0);
}

describe('report.html in Chromium', () => {
  browserTest('one run: loads from file:// cleanly, every chart drawn, one t-SNE circle per point, labels under their frames', async () => {
    const run = makeRunFolder(path.join(tmp, 'run-a'), { horizon: 8, tsnePoints: 40 });
    const r = writeReport([run]);
    const p = await open(r.file, 'report.png');
    expectDrawn(p, r.charts);
    const tsne = p.charts.filter((c) => c.cls.includes('wk-tsne'));
    expect(tsne).toHaveLength(3); // by step, by each of the two heads
    for (const t of tsne) {
      expect(t.dataPoints).toBe('40');
      expect(t.circles).toBe(40);
    }
    expect(p.comparisonRows).toBe(-1);
    // two windows, two heads, eight steps: every label cell within 1.5 CSS px of its frame's centre
    expect(p.labelCells).toBe(2 * 2 * 8);
    expect(p.labelMisalignment).toHaveLength(2);
    for (const m of p.labelMisalignment) expect(m).toBeLessThan(1.5);
  });

  browserTest('two runs: the comparison table has a row per run; a run without labels or extras still draws cleanly', async () => {
    const a = makeRunFolder(path.join(tmp, 'cmp-a'), { tsneSteps: [1, 4, 8] });
    const b = makeRunFolder(path.join(tmp, 'cmp-b'), { quality: 0.8, unlabeled: true, noExtras: true });
    const r = writeReport([a, b], { out: path.join(tmp, 'compare.html') });
    const p = await open(r.file, 'report_compare.png');
    expectDrawn(p, r.charts);
    expect(p.comparisonRows).toBe(2);
    expect(p.charts.filter((c) => c.cls.includes('wk-tsne')).every((c) => c.circles === Number(c.dataPoints) && c.circles === 40)).toBe(true);
  });

  browserTest('an ablation folder: a row per variant and copy-last, every mean curve drawn, one filmstrip per variant', async () => {
    const dir = path.join(tmp, 'ablation');
    const variants = ['baseline', 'perceptual', 'big_vae'];
    const runs: AblationRun[] = [];
    variants.forEach((variant, vi) =>
      [1, 2].forEach((seed) => {
        const rel = path.join(variant, `seed${seed}`);
        makeRunFolder(path.join(dir, rel), { horizon: 8, quality: 1 + 0.03 * vi - 0.01 * seed, noExtras: false });
        const ev = JSON.parse(fs.readFileSync(path.join(dir, rel, 'eval', 'eval.json'), 'utf8'));
        runs.push({ variant, seed, dir: rel, ...ablationRunMetrics(ev, 8), seconds: { vae: 30, predictor: 45, evaluate: 5 }, steps: { vae: 100, predictor: 200 }, sharedVae: variant !== 'big_vae', warnings: [] });
      }),
    );
    const a = summarizeAblation(runs, { data: 'fixture', variants, seeds: [1, 2], budgetMinutes: 30, variantBudget: { vaeMinutes: 0.5, predictorMinutes: 0.75 }, steps: [1, 4, 8], horizon: 8, context: 4, wallMinutes: 12, missing: [], notes: [] });
    fs.writeFileSync(path.join(dir, 'ablation.json'), JSON.stringify(a));
    const r = writeAblationReport(dir);
    expect(r.charts).toBe(4); // retention, changed retention, PSNR, separability
    const p = await open(r.file, 'report_ablation.png');
    expectDrawn(p, r.charts);
    expect(p.comparisonRows).toBe(variants.length + 1);
    // each mean curve is a line per variant plus copy-last's
    for (const c of p.charts) expect(c.marks).toBeGreaterThanOrEqual(variants.length);
    // one window per variant: real, reconstruction and predicted strips
    expect(p.images.n).toBe(3 * variants.length);
    expect(p.labelMisalignment).toHaveLength(variants.length);
    for (const m of p.labelMisalignment) expect(m).toBeLessThan(1.5);
  });

  browserTest('a tiny real run (simulator data, models trained a few batches, evaluateWorldModel): the report draws cleanly', async () => {
    if (!ctx) await open('', ''); // fails with the CI message when Chromium is missing (before the training)
    const dir = path.join(tmp, 'real');
    const train = generateEpisodes({ episodes: 3, steps: 48, seed: 11, cacheDir: false });
    const test = generateEpisodes({ episodes: 2, steps: 48, seed: 1011, cacheDir: false });
    const vae = createVAE({ encoderChannels: [8, 16, 32, 64], latentShape: [16, 4, 4], seed: 1 });
    await trainVAE(vae, train, { epochs: 1, batchSize: 16, lr: 3e-3, maxBatchesPerEpoch: 3, checkpointDir: path.join(dir, 'vae') });
    vae.freeze().eval();
    const predictor = createPredictor(vae, { hiddenSize: 32, actionSize: 3, residualPrediction: true, useActions: true, seed: 1 });
    await trainPredictor(predictor, vae, train, { epochs: 2, batchSize: 4, lr: 3e-3, seqLen: 12, maxBatchesPerEpoch: 3, checkpointDir: path.join(dir, 'predictor') });
    predictor.eval();
    const probe = await trainSemanticProbe(train, { heldOut: test.slice(0, 1), epochs: 1, batchSize: 16, probe: { channels: [8, 16, 16, 16], hidden: 32 } });
    const ev = evaluateWorldModel(vae, predictor, test, path.join(dir, 'eval'), {
      context: 4,
      horizon: 8,
      windows: 8,
      probe,
      closedLoopRuns: 1,
      filmstrips: 2,
      tsne: { steps: [1, 4, 8], maxWindows: 8, perplexity: 5, iterations: 250 },
      data: 'driving simulator, 2 test episodes x 48 steps (seed 1011)',
    });
    expect(ev.rollout?.semantic).toBeDefined();
    const r = writeReport([dir]);
    const html = fs.readFileSync(r.file, 'utf8');
    // a probe trained for one epoch is below the threshold: the report must say so
    if (ev.probe?.heads.some((h) => !h.reliable)) expect(html).toContain('Probe warning:');
    expect(html).not.toContain('class="wk-error"');
    const p = await open(r.file, 'report_real.png', 128); // 64-pixel frames at scale 2
    expectDrawn(p, r.charts);
    expect(p.labelMisalignment).toHaveLength(2);
    for (const m of p.labelMisalignment) expect(m).toBeLessThan(1.5);
    expect(p.labelCells).toBe(2 * 3 * 8);
    const tsne = p.charts.filter((c) => c.cls.includes('wk-tsne'));
    expect(tsne).toHaveLength(1 + 3); // by step, and by each of the simulator's three heads
    const n = JSON.parse(fs.readFileSync(path.join(dir, 'eval', 'tsne.json'), 'utf8')).points.length;
    expect(r.points).toBe(n);
    for (const t of tsne) expect([t.circles, Number(t.dataPoints)]).toEqual([n, n]);
    vae.dispose();
    predictor.dispose();
    probe.probe.dispose();
  }, 300000);
});
