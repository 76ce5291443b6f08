/**
 * report.html in a real browser: Debian's Chromium (`apt-get install chromium`; .ci/run installs
 * it) driven by playwright-core, which downloads no browser and is given the executable. The page
 * must load from file:// with no console error and no failed request, draw every chart, show one
 * t-SNE mark per point, put each probe label under its frame, and show the comparison table with
 * two runs. Screenshots go to test-artifacts/ (report.png: one run; report_compare.png: two).
 *
 * Without Chromium the test fails under CI (process.env.CI), where .ci/run must have installed
 * it, and is skipped elsewhere with the reason printed.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { chromium, BrowserContext } from 'playwright-core';
import { writeReport } from '../src/diagnostics/report';
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

async function open(file: string, screenshot: string): Promise<PageReport> {
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
    // image (the fixture's strips: frames of `frame` px at scale 2, 2 px gaps on both ends)
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
          const want = r.left + s * (2 + k * (2 * frame + 2) + frame);
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
  }, FRAME);
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
});
