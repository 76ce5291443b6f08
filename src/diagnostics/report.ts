/**
 * `writeReport(runDirs)`: one self-contained report.html over the files `worldkit eval` /
 * `worldkit demo` write into a run's eval/ folder (the contract is eval_schema.ts), laid out so a
 * reader sees at a glance where (which label head) and when (which rollout step) the meaning of
 * the imagined frames is lost:
 *
 *   headline        semantic retention at steps 1/4/8/16 vs copy-last and the VAE ceiling
 *   data and probe  the probe's own held-out quality (an unreliable head is flagged)
 *   reconstructions originals next to VAE reconstructions, per-class metrics, probe on real vs recon
 *   filmstrips      real / reconstruction / predicted rows, the probe's label under each predicted frame
 *   per-step charts retention, changed-subset accuracy, latent MSE, PSNR, SSIM, separability, Fréchet
 *   t-SNE           real vs predicted latents, by step and by label
 *   training        loss curves from metrics.jsonl, summary.md
 *   comparison      (several runs) one row per run and overlaid retention curves
 *
 * A folder written by `worldkit ablate` (ablation.json inside) gets the ablation's comparison view
 * instead (writeAblationReport): one row per variant with mean ± spread over its seeds, copy-last
 * as the reference row, overlaid mean curves, and the same test window of every variant.
 *
 * With several runs the comparison comes right after the title rather than last: it is what a
 * reader of several runs looks at first, and each run's own sections follow it.
 *
 * Charts are SVG drawn here (chart.ts, scatter.ts) rather than by an npm charting library inlined
 * into the page: the page then needs no script at all (its Content-Security-Policy forbids
 * scripts, so an injected string could not run one either), stays small (a charting bundle would
 * add hundreds of KB to every report), draws identically in any browser or when printed, and
 * what is drawn can be tested in Node. The plots needed (lines, dots) are small.
 *
 * Everything read from the files is treated as untrusted text: every string is HTML-escaped, PNGs
 * are inlined only from inside the eval folder and only when they are PNGs, and a section whose
 * data is missing or malformed shows a note saying so instead of failing the whole report.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { EvalFile, FilmstripFile, LabelHead, SemanticRetention, SourceAccuracy, TsneFile } from './eval_schema';
import type { AblationFile, AblationRow, MetricSummary } from './ablation_schema';
import { lineChartSvg, Series } from './chart';
import { scatterLegendRows, scatterSvg, ScatterOptions, ScatterPoint } from './scatter';
import { writeFileAtomic } from '../io/atomic_file';
import { typeError } from '../errors';

export interface ReportOptions {
  /** Output file; default `<runDir>/report.html` for one run, `./report.html` for several. */
  out?: string;
  title?: string;
}

export interface ReportResult {
  /** Absolute path of the report written. */
  file: string;
  /** `<svg class="wk-chart">` elements in the page. */
  charts: number;
  /** t-SNE points drawn (each run's points counted once, however many views show them). */
  points: number;
}

/** Retention below this is called out in the headline (the step where it first happens). */
const RETENTION_ALERT = 0.9;
const HEADLINE_STEPS = [1, 4, 8, 16];
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const C_MODEL = '#1f77b4', C_COPY = '#7f7f7f', C_RECON = '#2ca02c', C_REAL = '#000000';
// viridis at 9 evenly spaced points, interpolated: rollout steps from early (purple) to late (yellow)
const VIRIDIS = ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'];

// ---------------------------------------------------------------------------------------------
// Locating run folders

interface RunLocation {
  /** The folder the user named. */
  given: string;
  /** The run folder (summary.md, filmstrip_*.png, vae/, predictor/), or null for a lone eval folder. */
  root: string | null;
  evalDir: string;
}

const isDir = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};
const isFile = (p: string): boolean => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};

/**
 * Why `dir` cannot be reported on (null when it can): it must be a run folder holding
 * eval/eval.json (like runs/demo) or an eval folder holding eval.json itself. The CLI turns the
 * reason into a usage error; writeReport prefixes its own name.
 */
export function runDirProblem(dir: string): string | null {
  if (!fs.existsSync(dir)) return `'${dir}' does not exist`;
  if (!isDir(dir)) return `'${dir}' is not a folder (expected a run folder with eval/ inside, or an eval folder)`;
  if (isDir(path.join(dir, 'eval'))) {
    return isFile(path.join(dir, 'eval', 'eval.json')) ? null : `'${path.join(dir, 'eval')}' has no eval.json (run worldkit eval or worldkit demo first)`;
  }
  if (isFile(path.join(dir, 'eval.json'))) return null;
  if (isFile(path.join(dir, ABLATION_JSON))) return null;
  return `'${dir}' has neither an eval/ folder nor an eval.json: expected a run folder (like runs/demo) or its eval folder`;
}

/** The file `worldkit ablate` writes into its folder (src/diagnostics/ablation_schema.ts). */
const ABLATION_JSON = 'ablation.json';
/** An ablation folder: ablation.json and no eval of its own. */
const isAblationDir = (dir: string): boolean => isFile(path.join(dir, ABLATION_JSON)) && !isDir(path.join(dir, 'eval')) && !isFile(path.join(dir, 'eval.json'));

function locate(dir: string): RunLocation {
  const given = path.resolve(dir);
  if (isDir(path.join(given, 'eval'))) return { given, root: given, evalDir: path.join(given, 'eval') };
  // an eval folder inside a run folder: the run's own files (filmstrips, logs, summary) are one up
  const parent = path.dirname(given);
  const parentIsRun = path.basename(given) === 'eval' && ['summary.md', 'vae', 'predictor'].some((f) => fs.existsSync(path.join(parent, f)));
  return { given, root: parentIsRun ? parent : null, evalDir: given };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** eval_schema.ts writes non-finite numbers as strings; read them back as numbers. */
function reviver(_k: string, v: unknown): unknown {
  return v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot be read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text, reviver);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.map(num) : []);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : v === undefined || v === null ? fallback : String(v));
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

interface PngRef {
  uri: string;
  width: number;
  height: number;
}

interface RunData {
  loc: RunLocation;
  name: string;
  color: string;
  ev: EvalFile;
  tsne: TsneFile | null;
  tsneProblem: string | null;
  film: FilmstripFile | null;
  filmProblem: string | null;
}

/** An optional JSON file of the eval folder: its content, or why there is none. */
function readOptional<T>(evalDir: string, name: string, what: string): { data: T | null; problem: string | null } {
  const file = path.join(evalDir, name);
  if (!fs.existsSync(file)) return { data: null, problem: `no ${name} in ${evalDir} (${what})` };
  try {
    const data = readJson(file);
    if (!data || typeof data !== 'object' || Array.isArray(data)) return { data: null, problem: `${file}: expected a JSON object` };
    return { data: data as T, problem: null };
  } catch (e) {
    return { data: null, problem: (e as Error).message };
  }
}

/**
 * A PNG inlined as a data: URI. Only files inside `dir` are read (a file name from JSON could
 * otherwise pull any readable file into a report that may be shared), and only real PNGs.
 */
function loadPng(dir: string, rel: string): PngRef | string {
  if (typeof rel !== 'string' || !rel) return `no file named`;
  const base = path.resolve(dir);
  const file = path.resolve(base, rel);
  if (file !== base && !file.startsWith(base + path.sep)) return `'${rel}' is outside ${base}: not inlined`;
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return `'${rel}' is missing in ${base}`;
  }
  const sig = [137, 80, 78, 71, 13, 10, 26, 10];
  if (buf.length < 24 || sig.some((b, i) => buf[i] !== b) || buf.toString('latin1', 12, 16) !== 'IHDR') return `'${rel}' is not a PNG file`;
  return { uri: `data:image/png;base64,${buf.toString('base64')}`, width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---------------------------------------------------------------------------------------------
// HTML helpers

export function escapeHtml(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
const esc = escapeHtml;
const DASH = '–';
const pct = (v: number, d = 1): string => (Number.isFinite(v) ? `${(100 * v).toFixed(d)}%` : DASH);
const fix = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : DASH);
const sci = (v: number): string => (Number.isFinite(v) ? (v !== 0 && Math.abs(v) < 1e-2 ? v.toExponential(2) : v.toPrecision(3)) : DASH);
const mean = (a: number[]): number => {
  const f = a.filter(Number.isFinite);
  return f.length ? f.reduce((s, v) => s + v, 0) / f.length : NaN;
};
const last = (a: number[]): number => (a.length ? a[a.length - 1] : NaN);

function note(text: string, kind: 'note' | 'warn' | 'error' = 'note'): string {
  return `<p class="wk-${kind}">${esc(text)}</p>`;
}

/** Background for a retention cell: red at <= 0.4, yellow around 0.7, green at >= 1 (a cue; the number is printed). */
function heat(v: number): string {
  if (!Number.isFinite(v)) return '';
  const t = Math.max(0, Math.min(1, (v - 0.4) / 0.6));
  return ` style="background:hsl(${Math.round(120 * t)},70%,86%)"`;
}

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table>`;
}
const td = (v: string, extra = ''): string => `<td${extra}>${v}</td>`;
const th = (v: string): string => `<th scope="row">${v}</th>`;

/** Steps shown in headline tables: 1/4/8/16 within the horizon, and the last step. */
function headlineSteps(horizon: number): number[] {
  const s = HEADLINE_STEPS.filter((k) => k <= horizon);
  if (horizon >= 1 && !s.includes(horizon)) s.push(horizon);
  return s;
}

function interpolate(colors: string[], t: number): string {
  const x = Math.max(0, Math.min(1, t)) * (colors.length - 1);
  const i = Math.min(colors.length - 2, Math.floor(x));
  const f = x - i;
  const a = colors[i], b = colors[i + 1];
  const ch = (c: string, k: number) => parseInt(c.slice(1 + 2 * k, 3 + 2 * k), 16);
  const mix = [0, 1, 2].map((k) => Math.round(ch(a, k) + (ch(b, k) - ch(a, k)) * f).toString(16).padStart(2, '0'));
  return `#${mix.join('')}`;
}

/** A line chart marked for the report (class wk-chart, markers, data marks classed wk-mark). */
function chart(title: string, yLabel: string, series: Series[], extra: { logY?: boolean; yMin?: number; yMax?: number; refLines?: { y: number; label: string }[]; xLabel?: string; width?: number } = {}): string {
  const drawable = series.filter((s) => s.values.some((v) => Number.isFinite(v) && (!extra.logY || v > 0)));
  if (!drawable.length) return note(`${title}: no finite values to draw`);
  return `<figure class="wk-fig">${lineChartSvg({
    title,
    xLabel: extra.xLabel ?? 'rollout step',
    yLabel,
    series: drawable,
    className: 'wk-chart',
    markers: true,
    width: extra.width ?? 580,
    height: 300,
    logY: extra.logY,
    yMin: extra.yMin,
    yMax: extra.yMax,
    refLines: extra.refLines,
  })}</figure>`;
}

// ---------------------------------------------------------------------------------------------
// Sections of one run

function guard(what: string, f: () => string): string {
  try {
    return f();
  } catch (e) {
    return note(`${what}: could not be drawn from these files (${(e as Error).message})`, 'error');
  }
}

function unreliableHeads(run: RunData): string[] {
  return arr<{ name: string; reliable: boolean; accuracy: number }>(run.ev.probe?.heads)
    .filter((h) => h && h.reliable === false)
    .map((h) => `${str(h.name)} (${pct(num(h.accuracy))})`);
}

function probeWarning(run: RunData, sem: SemanticRetention | undefined): string {
  const bad = unreliableHeads(run);
  const thr = num(run.ev.probe?.threshold);
  if (bad.length)
    return note(
      `Probe warning: ${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} below the ${pct(thr, 0)} held-out accuracy threshold on real frames, so ${bad.length === 1 ? 'its' : 'their'} retention measures the probe as much as the world model.`,
      'warn',
    );
  if (sem?.probeUnreliable) return note('Probe warning: eval.json marks the probe unreliable (a head is below the accuracy threshold on real frames); read its retention figures with care.', 'warn');
  return '';
}

/** The sentence that says where and when the meaning is lost. */
function verdict(sem: SemanticRetention): string {
  const o = sem.overall;
  const ret = nums(o.retention), cl = nums(o.copyLastRetention), rc = nums(o.reconstructionRetention);
  const H = ret.length;
  if (!H) return 'eval.json has a semantic section without retention values.';
  const parts: string[] = [];
  parts.push(`Decoded predictions keep <b>${fix(ret[0])}</b> of the meaning at step 1 and <b>${fix(ret[H - 1])}</b> at step ${H} (copy-last: ${fix(cl[0])} → ${fix(last(cl))}; VAE reconstructions, the ceiling: ${fix(mean(rc))}).`);
  const drop = ret.findIndex((v) => Number.isFinite(v) && v < RETENTION_ALERT);
  parts.push(drop >= 0 ? `Retention falls below ${RETENTION_ALERT.toFixed(2)} at <b>step ${drop + 1}</b>.` : `Retention stays at or above ${RETENTION_ALERT.toFixed(2)} over all ${H} steps.`);
  const heads = arr<{ name: string; retention: number[] }>(sem.perHead);
  if (heads.length > 1) {
    const worst = heads.map((h) => ({ name: str(h.name), v: last(nums(h.retention)) })).filter((h) => Number.isFinite(h.v)).sort((a, b) => a.v - b.v)[0];
    // naming a "worst" head only makes sense when something was lost
    if (worst && worst.v < 0.995) parts.push(`Most meaning is lost on <b>${esc(worst.name)}</b> (${fix(worst.v)} at step ${H}).`);
  }
  const beats = ret.filter((v, k) => Number.isFinite(v) && Number.isFinite(cl[k]) && v > cl[k]).length;
  parts.push(beats === H ? 'The model beats copy-last at every step.' : beats === 0 ? 'The model never beats copy-last.' : `The model beats copy-last at ${beats} of ${H} steps.`);
  const n = last(nums(o.changed?.count));
  const ca = o.changed?.accuracy;
  if (Number.isFinite(n) && n > 0 && ca)
    parts.push(`Where the label changed by step ${H} (${n} sample${n === 1 ? '' : 's'}), the prediction's label is right ${pct(last(nums(ca.predicted)), 0)} of the time, copy-last's ${pct(last(nums(ca.copyLast)), 0)}.`);
  else if (n === 0) parts.push(`No label changed by step ${H}, so the changed subset is empty there.`);
  const above = [...ret, ...arr<{ retention: number[] }>(sem.perHead).flatMap((h) => nums(h.retention))].some((v) => v > 1.05);
  if (above) parts.push('Retention above 1 means the probe reads the predictions better than the real frames: a sign of a weak probe or of few samples, not of a better-than-real model.');
  return parts.join(' ');
}

function headline(run: RunData): string {
  const ev = run.ev;
  const r = ev.rollout;
  const out: string[] = [];
  const sem = r?.semantic;
  if (!r) {
    out.push(note('No rollout section in eval.json (evaluated without a predictor): only the reconstruction is reported below.'));
  } else if (!sem) {
    out.push(note(ev.semanticNote ? `No semantic metrics (eval.json says: “${str(ev.semanticNote)}”): only pixel and latent errors are shown.` : 'No semantic metrics in eval.json (data without labels, or a run evaluated before they existed): only pixel and latent errors are shown.'));
  }
  if (sem) {
    out.push(probeWarning(run, sem));
    out.push(`<p class="wk-verdict">${verdict(sem)}</p>`);
    const o = sem.overall;
    const H = nums(o.retention).length;
    const steps = headlineSteps(H);
    const row = (label: string, values: number[], heatOn = true) => [th(label), ...steps.map((s) => td(fix(values[s - 1]), heatOn ? heat(values[s - 1]) : ''))];
    const rows: string[][] = [
      row('world model (decoded prediction)', nums(o.retention)),
      row('copy-last', nums(o.copyLastRetention)),
      row('VAE reconstruction (ceiling)', nums(o.reconstructionRetention)),
    ];
    for (const h of arr<SemanticRetention['perHead'][number]>(sem.perHead)) {
      const mr = nums(h.retention), cr = nums(h.copyLastRetention);
      rows.push([th(`&nbsp;&nbsp;${esc(str(h.name))}: model (copy-last)`), ...steps.map((s) => td(`${fix(mr[s - 1])} <span class="wk-dim">(${fix(cr[s - 1])})</span>`, heat(mr[s - 1])))]);
    }
    if (o.changed) {
      const cnt = nums(o.changed.count), cp = nums(o.changed.accuracy?.predicted), cc = nums(o.changed.accuracy?.copyLast);
      rows.push([th('changed subset: model / copy-last accuracy (n)'), ...steps.map((s) => td(cnt[s - 1] > 0 ? `${pct(cp[s - 1], 0)} / ${pct(cc[s - 1], 0)} <span class="wk-dim">(n=${cnt[s - 1]})</span>` : `<span class="wk-dim">n=${Number.isFinite(cnt[s - 1]) ? cnt[s - 1] : DASH}</span>`))]);
    }
    out.push(table(['semantic retention', ...steps.map((s) => `step ${s}`)], rows, 'wk-headline'));
    out.push(`<p class="wk-caption">Retention = the probe's accuracy on decoded predicted frames / its accuracy on the true frames (1.00: the predictions carry the labels as well as reality). Copy-last holds the last context frame; the VAE row is the most a latent predictor can keep. Changed subset: samples whose true label at that step differs from the last context frame's, the only ones where predicting matters.</p>`);
  }
  if (r) {
    const H = nums(r.latentMse).length;
    const steps = headlineSteps(H);
    const pair = (a: unknown, b: unknown, f: (v: number) => string) => steps.map((s) => td(`${f(nums(a)[s - 1])} <span class="wk-dim">/ ${f(nums(b)[s - 1])}</span>`));
    out.push(
      table(
        ['pixels and latents: model / copy-last', ...steps.map((s) => `step ${s}`)],
        [
          [th('PSNR vs real (dB)'), ...pair(r.psnrVsReal, r.baselinePsnrVsReal, (v) => fix(v, 1))],
          [th('SSIM vs real'), ...pair(r.ssimVsReal, r.baselineSsimVsReal, (v) => fix(v, 3))],
          [th('latent MSE'), ...pair(r.latentMse, r.baselineLatentMse, sci)],
        ],
        'wk-headline wk-pixels',
      ),
    );
  }
  return out.join('\n');
}

function dataAndProbe(run: RunData): string {
  const ev = run.ev;
  const out: string[] = [];
  out.push(`<p><b>Data:</b> ${ev.data !== undefined ? esc(str(ev.data)) : '<span class="wk-dim">not recorded in eval.json</span>'}</p>`);
  const r = ev.rollout;
  if (r) out.push(`<p><b>Rollouts:</b> ${esc(str(r.windows))} windows, ${esc(str(r.context))} context frames, ${esc(str(r.horizon))} imagined steps.</p>`);
  const p = ev.probe;
  if (!p) {
    out.push(note(ev.semanticNote ? `No semantic probe (eval.json says: “${str(ev.semanticNote)}”).` : 'No semantic probe in eval.json (data without labels, or an older run).'));
    return out.join('\n');
  }
  const rows = arr<ProbeHeadRow>(p.heads).map((h) => {
    const classes = arr<string>(h.classes).map((c) => str(c));
    const counts = nums(h.classCounts);
    const per = classes.map((c, i) => `${esc(c)} ${Number.isFinite(counts[i]) ? counts[i] : DASH}`).join(', ');
    return [
      th(esc(str(h.name))),
      td(pct(num(h.accuracy))),
      td(pct(num(h.balancedAccuracy))),
      td(per || DASH),
      td(h.reliable === false ? '<span class="wk-bad">✗ unreliable</span>' : h.reliable === true ? '<span class="wk-ok">✓ reliable</span>' : DASH),
    ];
  });
  out.push(table(['probe head', 'held-out accuracy', 'balanced accuracy', 'held-out frames per class', `reliable (≥ ${pct(num(p.threshold), 0)})`], rows, 'wk-probe'));
  out.push(
    `<p class="wk-caption">The probe is a small CNN trained on real frames (${esc(str(p.trainFrames, DASH))} frames; ${esc(str(p.heldOutFrames, DASH))} held out for this table)${p.pairs ? ', looking at each frame together with its predecessor so that motion is decidable' : ''}. A head below the threshold would measure the probe rather than the world model.</p>`,
  );
  out.push(probeWarning(run, undefined));
  return out.join('\n');
}

type ProbeHeadRow = NonNullable<EvalFile['probe']>['heads'][number];

/** Where the frames sit inside a strip PNG: frame width, gap between frames and left padding, in PNG pixels. */
function stripGeometry(pngWidth: number, frames: number, frameWidth: number): { fw: number; gap: number; pad: number } {
  if (frames >= 1 && frameWidth >= 1) {
    for (let s = 1; s <= 8; ++s) {
      const fw = frameWidth * s;
      const rem = pngWidth - frames * fw;
      if (rem < 0) break;
      if (rem === 0) return { fw, gap: 0, pad: 0 };
      // contactSheet (src/io/png.ts) puts the gap on both ends too; other writers only between frames
      if (rem % (frames + 1) === 0 && rem / (frames + 1) < fw / 4) return { fw, gap: rem / (frames + 1), pad: rem / (frames + 1) };
      if (frames > 1 && rem % (frames - 1) === 0 && rem / (frames - 1) < fw / 4) return { fw, gap: rem / (frames - 1), pad: 0 };
    }
  }
  return { fw: pngWidth / Math.max(1, frames), gap: 0, pad: 0 };
}

type FilmWindow = FilmstripFile['windows'][number];

/** One window: its rows as images and, under the predicted row, the probe's label per head aligned to the frames. */
function filmWindow(run: RunData, w: FilmWindow, heads: LabelHead[], opts: { rows?: string[]; labels: boolean; caption?: string }): string {
  // a horizon from the file sizes the label grid: capped, so a corrupt value cannot make millions of cells
  const H = Math.min(1024, Math.max(1, Math.floor(num(w.horizon)) || 1));
  const rowsWanted = arr<{ name: string; file: string }>(w.rows).filter((r) => !opts.rows || opts.rows.includes(str(r.name)));
  if (!rowsWanted.length) return note(`${str(w.title, 'a window')}: no ${opts.rows ? opts.rows.join('/') : ''} rows in filmstrips.json`);
  const imgs = rowsWanted.map((r) => ({ name: str(r.name), png: loadPng(run.loc.evalDir, str(r.file)) }));
  const first = imgs.find((i) => typeof i.png !== 'string')?.png as PngRef | undefined;
  const geo = stripGeometry(first?.width ?? H * num(w.frameWidth), H, num(w.frameWidth));
  // displayed frame width: large enough to see, small enough that 16 frames fit the page
  const D = Math.max(48, Math.min(96, Math.floor(960 / H)));
  const ds = geo.fw > 0 && Number.isFinite(geo.fw) ? D / geo.fw : 1;
  const cols = `padding-left:${(geo.pad * ds).toFixed(2)}px;grid-template-columns:repeat(${H},${D}px);column-gap:${(geo.gap * ds).toFixed(2)}px`;
  const cells: string[] = [];
  cells.push(`<div class="wk-rowlabel"></div><div class="wk-cols wk-steps" style="${cols}">${Array.from({ length: H }, (_, k) => `<div>step ${k + 1}</div>`).join('')}</div>`);
  const trueL = arr<number[]>(w.trueLabels), predL = arr<number[]>(w.predictedLabels);
  let right = 0, total = 0;
  for (const im of imgs) {
    const label = im.name === 'real' ? 'real' : im.name === 'reconstruction' ? 'VAE reconstruction' : im.name === 'predicted' ? `predicted (${str(w.mode, 'open loop')})` : im.name;
    if (typeof im.png === 'string') {
      cells.push(`<div class="wk-rowlabel">${esc(label)}</div><div>${note(im.png, 'warn')}</div>`);
    } else {
      const wpx = (im.png.width * ds).toFixed(1), hpx = (im.png.height * ds).toFixed(1);
      cells.push(`<div class="wk-rowlabel">${esc(label)}</div><div><img class="wk-strip" alt="${esc(label)} frames" src="${im.png.uri}" width="${wpx}" height="${hpx}"></div>`);
    }
    if (im.name === 'predicted' && opts.labels && heads.length) {
      heads.forEach((h, hi) => {
        const classes = arr<string>(h.classes).map((c) => str(c));
        const name = (v: unknown) => (typeof v === 'number' && classes[v] !== undefined ? classes[v] : str(v, DASH));
        const row = Array.from({ length: H }, (_, k) => {
          const p = predL[k]?.[hi], t = trueL[k]?.[hi];
          if (p === undefined || p === null) return `<div class="wk-lab wk-dim">${DASH}</div>`;
          const ok = t !== undefined && t === p;
          if (t !== undefined) {
            total++;
            if (ok) right++;
          }
          const tip = `${str(h.name)} at step ${k + 1}: probe reads ${name(p)}, true ${t === undefined ? 'unknown' : name(t)}`;
          const mark = t === undefined ? '' : ok ? '<span class="wk-ok">✓</span>' : '<span class="wk-bad">✗</span>';
          return `<div class="wk-lab ${t === undefined ? '' : ok ? 'wk-right' : 'wk-wrong'}" title="${esc(tip)}">${mark} ${esc(name(p))}</div>`;
        });
        cells.push(`<div class="wk-rowlabel wk-headname">probe: ${esc(str(h.name))}</div><div class="wk-cols" style="${cols}">${row.join('')}</div>`);
      });
    }
  }
  const score = total ? ` · the probe reads the true label on ${right} of ${total} predicted frames` : '';
  const title = opts.caption ?? `${esc(str(w.title, 'window'))} <span class="wk-dim">· ${esc(str(w.mode, 'open loop'))}${score}</span>`;
  return `<div class="wk-window"><div class="wk-wtitle">${title}</div><div class="wk-film">${cells.join('')}</div></div>`;
}

/** A PNG from the run folder (today's filmstrip_*.png), with a caption. */
function runPng(run: RunData, name: string, caption: string): string | null {
  if (!run.loc.root) return null;
  const png = loadPng(run.loc.root, name);
  if (typeof png === 'string') return null;
  return `<figure class="wk-png"><img alt="${esc(name)}" src="${png.uri}" width="${png.width}" height="${png.height}"><figcaption>${esc(name)}: ${esc(caption)}</figcaption></figure>`;
}

function reconstructions(run: RunData): string {
  const out: string[] = [];
  const rec = run.ev.reconstruction;
  const film = run.film;
  const w0 = arr<FilmWindow>(film?.windows)[0];
  if (film && w0) out.push(filmWindow(run, w0, [], { rows: ['real', 'reconstruction'], labels: false, caption: `Originals and their VAE reconstructions: ${esc(str(w0.title, 'first window'))}` }));
  else out.push(runPng(run, 'filmstrip_open_loop.png', 'per test window: real frames, VAE reconstructions, imagined frames') ?? note(`No images of reconstructions: ${run.filmProblem ?? 'filmstrips.json has no windows'}, and no filmstrip_open_loop.png in the run folder.`));
  if (!rec) {
    out.push(note('No reconstruction section in eval.json.'));
    return out.join('\n');
  }
  out.push(table(['held-out frames', 'MSE', 'PSNR (dB)', 'SSIM'], [[td(esc(str(rec.frames))), td(sci(num(rec.mse))), td(fix(num(rec.psnr))), td(fix(num(rec.ssim), 3))]], 'wk-small'));
  const pa = arr<{ head: string; real: number; reconstruction: number }>(rec.probeAccuracy);
  if (pa.length) {
    out.push(`<h4>Probe accuracy on real frames vs on their reconstructions</h4>`);
    out.push(
      table(
        ['head', 'real frames', 'VAE reconstructions', 'lost by the VAE'],
        pa.map((p) => {
          const d = num(p.real) - num(p.reconstruction);
          return [th(esc(str(p.head))), td(pct(num(p.real))), td(pct(num(p.reconstruction)), heat(num(p.reconstruction) / num(p.real))), td(Number.isFinite(d) ? `${(100 * d).toFixed(1)} pts` : DASH)];
        }),
        'wk-small',
      ),
    );
  } else out.push(note('No probe accuracy on reconstructions in eval.json (no labels or no probe).'));
  const pc = arr<{ head: string; classes: { name: string; frames: number; mse: number; psnr: number; ssim: number }[] }>(rec.perClass);
  if (pc.length) {
    out.push(`<h4>Reconstruction per label class (which situations the VAE fails on; lowest PSNR of each head marked)</h4><div class="wk-row">`);
    for (const h of pc) {
      const cls = arr<{ name: string; frames: number; mse: number; psnr: number; ssim: number }>(h.classes);
      const psnrs = cls.map((c) => num(c.psnr));
      const worst = psnrs.reduce((bi, v, i) => (Number.isFinite(v) && (bi < 0 || v < psnrs[bi]) ? i : bi), -1);
      out.push(
        table(
          [esc(str(h.head)), 'frames', 'MSE', 'PSNR (dB)', 'SSIM'],
          cls.map((c, i) => [th(esc(str(c.name)) + (i === worst && cls.length > 1 ? ' <span class="wk-bad">◀ worst</span>' : '')), td(esc(str(c.frames))), td(sci(num(c.mse))), td(fix(num(c.psnr))), td(fix(num(c.ssim), 3))]),
          'wk-small',
        ),
      );
    }
    out.push('</div>');
  } else out.push(note('No per-class reconstruction metrics in eval.json (no labels).'));
  return out.join('\n');
}

function filmstrips(run: RunData): string {
  const out: string[] = [];
  const film = run.film;
  const windows = arr<FilmWindow>(film?.windows);
  if (!film || !windows.length) {
    out.push(note(run.filmProblem ?? 'filmstrips.json has no windows.'));
    const png = runPng(run, 'filmstrip_open_loop.png', 'per test window three rows: real frames, VAE reconstructions, imagined frames (no probe labels: older run)');
    if (png) out.push(png);
  } else {
    const heads = arr<LabelHead>(film.heads);
    if (!heads.length) out.push(note('filmstrips.json has no label heads: the probe\'s labels cannot be shown under the predicted frames.'));
    out.push('<p class="wk-caption">Under each predicted frame: the probe\'s reading of it per label head, <span class="wk-ok">✓</span> when it matches the true label of that step, <span class="wk-bad">✗</span> when not (hover for the true label).</p>');
    for (const w of windows) out.push(guard(`window ${str(w?.title)}`, () => filmWindow(run, w, heads, { labels: true })));
  }
  if (!windows.some((w) => w?.mode === 'closed loop')) {
    const cl = runPng(run, 'filmstrip_closed_loop.png', 'top: the real simulator; bottom: the dream, both driven by the same lane-keeping policy that sees only the dream');
    if (cl) out.push(cl);
  }
  return out.join('\n');
}

function accSeries(a: SourceAccuracy | undefined, withReal: boolean): Series[] {
  if (!a) return [];
  const s: Series[] = [
    { name: 'world model', values: nums(a.predicted), color: C_MODEL },
    { name: 'copy-last', values: nums(a.copyLast), color: C_COPY, dash: true },
    { name: 'VAE reconstruction', values: nums(a.reconstruction), color: C_RECON, dash: true },
  ];
  if (withReal) s.push({ name: 'real frames', values: nums(a.real), color: C_REAL, dash: true });
  return s;
}

function retentionCharts(sem: SemanticRetention, prefix: string): string[] {
  const out: string[] = [];
  const o = sem.overall;
  const ret = (name: string, r: number[], cl: number[], rc: number[]) =>
    chart(name, 'retention', [
      { name: 'world model', values: r, color: C_MODEL },
      { name: 'copy-last', values: cl, color: C_COPY, dash: true },
      { name: 'VAE reconstruction', values: rc, color: C_RECON, dash: true },
    ], { yMin: 0, yMax: 1, refLines: [{ y: 1, label: 'as good as the real frames' }] });
  out.push(ret(`${prefix}semantic retention, all heads`, nums(o.retention), nums(o.copyLastRetention), nums(o.reconstructionRetention)));
  for (const h of arr<SemanticRetention['perHead'][number]>(sem.perHead)) out.push(ret(`${prefix}retention: ${str(h.name)}`, nums(h.retention), nums(h.copyLastRetention), nums(h.reconstructionRetention)));
  if (o.changed) {
    const cnt = nums(o.changed.count);
    out.push(
      `<figure class="wk-fig">${chart(`${prefix}accuracy where the label changed`, 'probe accuracy', accSeries(o.changed.accuracy, true), { yMin: 0, yMax: 1 }).replace(/^<figure class="wk-fig">|<\/figure>$/g, '')}` +
        `<figcaption>Samples with a changed label, per step: ${cnt.map((c, k) => `<span title="step ${k + 1}">${Number.isFinite(c) ? c : DASH}</span>`).join(' · ')}</figcaption></figure>`,
    );
  }
  return out;
}

function driftCharts(d: NonNullable<NonNullable<EvalFile['rollout']>['drift']>): string {
  const out: string[] = [];
  out.push(chart('real vs predicted latents: separability', 'classifier accuracy', [
    { name: 'world model', values: nums(d.separability), color: C_MODEL },
    { name: 'copy-last', values: nums(d.copyLastSeparability), color: C_COPY, dash: true },
  ], { yMin: 0, yMax: 1, refLines: [{ y: 0.5, label: 'indistinguishable' }] }));
  out.push(chart('real vs predicted latents: Fréchet distance', 'Fréchet distance', [
    { name: 'world model', values: nums(d.frechet), color: C_MODEL },
    { name: 'copy-last', values: nums(d.copyLastFrechet), color: C_COPY, dash: true },
  ]));
  out.push(`<p class="wk-caption">Separability: held-out accuracy of a classifier (${esc(str(d.classifier, 'unnamed'))}${Number.isFinite(num(d.samples)) ? `, ${num(d.samples)} latents per side` : ''}) told to tell real from predicted latents; 0.5 means it cannot. Fréchet distance: between Gaussians fitted to the two sets (0 = same mean and covariance).</p>`);
  return out.join('\n');
}

function perStepCharts(run: RunData): string {
  const r = run.ev.rollout;
  if (!r) return note('No rollout section in eval.json: no per-step curves.');
  const out: string[] = [];
  const sem = r.semantic;
  // each group guarded on its own: a malformed semantic section must not take the pixel curves with it
  if (sem) out.push(guard('semantic retention curves', () => retentionCharts(sem, '').join('\n')));
  else out.push(note(run.ev.semanticNote ? `No semantic retention curves (eval.json says: “${str(run.ev.semanticNote)}”).` : 'No semantic retention curves (no semantic section in eval.json).'));
  out.push(chart('latent MSE', 'latent MSE (log)', [
    { name: 'world model', values: nums(r.latentMse), color: C_MODEL },
    { name: 'copy-last', values: nums(r.baselineLatentMse), color: C_COPY, dash: true },
  ], { logY: true }));
  out.push(chart('PSNR of decoded frames', 'PSNR (dB)', [
    { name: 'model vs real', values: nums(r.psnrVsReal), color: C_MODEL },
    { name: 'copy-last vs real', values: nums(r.baselinePsnrVsReal), color: C_COPY, dash: true },
    { name: 'model vs VAE recon', values: nums(r.psnrVsRecon), color: C_MODEL, dash: true },
  ]));
  out.push(chart('SSIM of decoded frames', 'SSIM', [
    { name: 'model vs real', values: nums(r.ssimVsReal), color: C_MODEL },
    { name: 'copy-last vs real', values: nums(r.baselineSsimVsReal), color: C_COPY, dash: true },
    { name: 'model vs VAE recon', values: nums(r.ssimVsRecon), color: C_MODEL, dash: true },
  ], { yMin: 0, yMax: 1 }));
  const d = r.drift;
  if (d) out.push(guard('latent drift curves', () => driftCharts(d)));
  else out.push(note('No drift section in eval.json: no separability or Fréchet curves (an older run).'));
  const cl = run.ev.closedLoop;
  if (cl?.semantic) out.push(guard('closed-loop retention', () => retentionCharts(cl.semantic!, 'closed loop: ')[0]));
  else if (cl) out.push(note('Closed loop: eval.json has no semantic section for it.'));
  return `<div class="wk-grid">${out.join('\n')}</div>`;
}

function tsneSection(run: RunData, counter: { points: number }): string {
  const t = run.tsne;
  if (!t) return note(run.tsneProblem ?? 'no tsne.json');
  const pts = arr<TsneFile['points'][number]>(t.points).filter((p) => p && Number.isFinite(num(p.x)) && Number.isFinite(num(p.y)));
  const dropped = arr(t.points).length - pts.length;
  if (!pts.length) return note('tsne.json has no points with finite coordinates.');
  counter.points += pts.length;
  const heads = arr<LabelHead>(t.heads);
  const steps = pts.filter((p) => p.source === 'predicted').map((p) => num(p.step)).filter(Number.isFinite);
  const H = steps.length ? Math.max(...steps) : 1;
  const stepColor = (s: number) => interpolate(VIRIDIS, H > 1 ? (s - 1) / (H - 1) : 0);
  const labelText = (p: TsneFile['points'][number]) =>
    heads.map((h, i) => `${str(h.name)}=${arr<string>(h.classes)[num(arr(p.labels)[i])] ?? str(arr(p.labels)[i], '?')}`).join(', ');
  const tip = (p: TsneFile['points'][number]) => `${p.source === 'predicted' ? `predicted, step ${num(p.step)}` : `real (step ${num(p.step)})`}${heads.length ? `; ${labelText(p)}` : ''}`;
  // real first, so that the predicted points (what drifts) are drawn on top
  const ordered = [...pts.filter((p) => p.source !== 'predicted'), ...pts.filter((p) => p.source === 'predicted')];
  const views: ScatterOptions[] = [];
  const byStep: ScatterPoint[] = ordered.map((p) => ({ x: num(p.x), y: num(p.y), color: p.source === 'predicted' ? stepColor(num(p.step)) : '#b0b0b0', filled: true, title: tip(p) }));
  // a few embedded steps (e.g. 1/4/8/16) get a legend entry each; more get a colour bar
  const distinct = [...new Set(steps)].sort((a, b) => a - b);
  views.push({
    title: 'real (grey) vs predicted latents, by rollout step',
    points: byStep,
    legend: [{ name: 'real', color: '#b0b0b0' }, ...(distinct.length <= 5 ? distinct.map((k) => ({ name: `predicted, step ${k}`, color: stepColor(k) })) : [])],
    colorBar: distinct.length > 5 ? { label: 'predicted latents, rollout step:', colors: Array.from({ length: H }, (_, k) => stepColor(k + 1)), first: '1', last: String(H) } : undefined,
  });
  heads.forEach((h, hi) => {
    const classes = arr<string>(h.classes).map((c) => str(c));
    const colorOf = (v: number) => (Number.isInteger(v) && v >= 0 ? PALETTE[v % PALETTE.length] : '#cccccc');
    views.push({
      title: `by true label: ${str(h.name)} (disc: real, ring: predicted)`,
      points: ordered.map((p) => ({ x: num(p.x), y: num(p.y), color: colorOf(num(arr(p.labels)[hi])), filled: p.source !== 'predicted', title: tip(p) })),
      legend: classes.map((c, i) => ({ name: c, color: colorOf(i) })),
    });
  });
  // three views fit a row of the page; the same reserved legend height keeps their plot areas aligned
  const width = 380;
  const legendRows = Math.max(...views.map((v) => scatterLegendRows({ ...v, width })));
  const svgs = views.map((v) => scatterSvg({ ...v, width, height: 340 + legendRows * 18, legendRows, className: 'wk-chart wk-tsne' }));
  const info = `t-SNE of ${pts.length} latents (${pts.filter((p) => p.source !== 'predicted').length} real, ${pts.filter((p) => p.source === 'predicted').length} predicted), embedded jointly: perplexity ${esc(str(t.perplexity, '?'))}, ${esc(str(t.iterations, '?'))} iterations, seed ${esc(str(t.seed, '?'))}${t.trustworthiness !== undefined ? `, trustworthiness ${fix(num(t.trustworthiness), 3)}` : ''}.${dropped ? ` ${dropped} points with non-finite coordinates left out.` : ''}`;
  const read = 'Predicted latents that stay among the real ones are plausible; late steps (yellow) drifting into a region of their own are latents the decoder has never seen. In the label views, a predicted ring surrounded by discs of another colour carries the wrong meaning.';
  return `<p class="wk-caption">${info} ${read}</p>${heads.length ? '' : note('tsne.json has no label heads: no views by label.')}<div class="wk-grid">${svgs.map((v) => `<figure class="wk-fig">${v}</figure>`).join('')}</div>`;
}

function training(run: RunData): string {
  const root = run.loc.root;
  if (!root) return note('A lone eval folder: no training logs or summary next to it.');
  const out: string[] = [];
  for (const model of ['vae', 'predictor']) {
    const file = path.join(root, model, 'metrics.jsonl');
    if (!isFile(file)) continue;
    const recs: Record<string, unknown>[] = [];
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      try {
        const r = JSON.parse(line);
        if (r && r.kind === 'epoch') recs.push(r);
      } catch {
        // a torn last line (a crash mid-write) or a blank line
      }
    }
    if (!recs.length) continue;
    const keys = [...new Set(recs.flatMap((r) => Object.keys(r)))].filter((k) => /loss|recon|kl|mse|openloop/i.test(k) && recs.some((r) => typeof r[k] === 'number'));
    const series = keys.slice(0, 6).map((k, i) => ({ name: k, values: recs.map((r) => num(r[k])), color: PALETTE[i % PALETTE.length] }));
    const allPos = series.every((s) => s.values.every((v) => !Number.isFinite(v) || v > 0));
    out.push(chart(`${model}: loss per epoch (${model}/metrics.jsonl)`, 'loss', series, { logY: allPos, xLabel: 'epoch' }));
  }
  if (!out.length) {
    const svg = path.join(root, 'loss_curves.svg');
    if (isFile(svg)) out.push(`<figure class="wk-png"><img alt="loss curves" src="data:image/svg+xml;base64,${fs.readFileSync(svg).toString('base64')}"><figcaption>loss_curves.svg</figcaption></figure>`);
    else out.push(note('No metrics.jsonl under vae/ or predictor/ and no loss_curves.svg in the run folder.'));
  }
  const summary = path.join(root, 'summary.md');
  if (isFile(summary)) out.push(`<details><summary>summary.md</summary><pre>${esc(fs.readFileSync(summary, 'utf8'))}</pre></details>`);
  return `<div class="wk-grid">${out.join('\n')}</div>`;
}

// ---------------------------------------------------------------------------------------------
// Several runs

function weightedChanged(sem: SemanticRetention | undefined): { acc: number; n: number } {
  const c = sem?.overall?.changed;
  if (!c) return { acc: NaN, n: NaN };
  const cnt = nums(c.count), acc = nums(c.accuracy?.predicted);
  let s = 0, n = 0;
  cnt.forEach((k, i) => {
    if (Number.isFinite(k) && k > 0 && Number.isFinite(acc[i])) {
      s += k * acc[i];
      n += k;
    }
  });
  return { acc: n ? s / n : NaN, n };
}

function comparison(runs: RunData[]): string {
  const H = Math.max(1, ...runs.map((r) => nums(r.ev.rollout?.semantic?.overall?.retention).length));
  const steps = headlineSteps(H);
  // one column: a value per run, how to print it, and which way is better (the best is set in bold)
  // lastStep: the column depends on each run's horizon (the last step, or all steps)
  interface Col { head: string; values: number[]; show: (v: number, i: number) => string; better: 'high' | 'low' | 'half'; heat?: boolean; lastStep?: boolean }
  const horizons = runs.map((r) => num(r.ev.rollout?.horizon));
  const known = [...new Set(horizons.filter(Number.isFinite))];
  const mixed = known.length > 1;
  const lastOf = (a: unknown) => last(nums(a));
  const changed = runs.map((r) => weightedChanged(r.ev.rollout?.semantic));
  const cols: Col[] = [
    ...steps.map((s): Col => ({ head: `retention step ${s}`, values: runs.map((r) => nums(r.ev.rollout?.semantic?.overall?.retention)[s - 1] ?? NaN), show: (v) => fix(v), better: 'high', heat: true })),
    { head: 'changed-subset accuracy (all steps, n-weighted)', values: changed.map((c) => c.acc), show: (v, i) => (Number.isFinite(v) ? `${pct(v, 0)} <span class="wk-dim">(n=${changed[i].n})</span>` : DASH), better: 'high', lastStep: true },
    { head: 'PSNR vs real (dB, last step)', values: runs.map((r) => lastOf(r.ev.rollout?.psnrVsReal)), show: (v) => fix(v, 1), better: 'high', lastStep: true },
    { head: 'SSIM vs real (last step)', values: runs.map((r) => lastOf(r.ev.rollout?.ssimVsReal)), show: (v) => fix(v, 3), better: 'high', lastStep: true },
    { head: 'latent MSE (last step)', values: runs.map((r) => lastOf(r.ev.rollout?.latentMse)), show: sci, better: 'low', lastStep: true },
    { head: 'separability (last step)', values: runs.map((r) => lastOf(r.ev.rollout?.drift?.separability)), show: (v) => fix(v, 2), better: 'half', lastStep: true },
    { head: 'Fréchet (last step)', values: runs.map((r) => lastOf(r.ev.rollout?.drift?.frechet)), show: sci, better: 'low', lastStep: true },
    { head: 'recon PSNR (dB)', values: runs.map((r) => num(r.ev.reconstruction?.psnr)), show: (v) => fix(v, 1), better: 'high' },
  ];
  const best = cols.map((c) => {
    // runs of different horizons are not compared on their last steps: no "best" there
    if (c.lastStep && mixed) return NaN;
    const score = c.values.map((v) => (!Number.isFinite(v) ? NaN : c.better === 'high' ? v : c.better === 'low' ? -v : -Math.abs(v - 0.5)));
    const finite = score.filter(Number.isFinite);
    return finite.length >= 2 ? Math.max(...finite) : NaN;
  });
  const isBest = (ci: number, v: number) => {
    const c = cols[ci];
    const sc = c.better === 'high' ? v : c.better === 'low' ? -v : -Math.abs(v - 0.5);
    return Number.isFinite(sc) && sc === best[ci];
  };
  const rows = runs.map((run, i) => [
    th(`<span class="wk-swatch" style="background:${run.color}"></span>${esc(run.name)}`),
    ...cols.map((c, ci) => td(c.show(c.values[i], i), `${c.heat ? heat(c.values[i]) : ''}${isBest(ci, c.values[i]) ? ' class="wk-best"' : ''}`)),
  ]);
  const out: string[] = [];
  out.push(table(['run', ...cols.map((c) => c.head)], rows, 'wk-comparison'));
  const horizonNote = mixed
    ? ` <b>The runs have different horizons</b> (${runs.map((r, i) => `${esc(r.name)} ${Number.isFinite(horizons[i]) ? horizons[i] : DASH}`).join(', ')}): the last-step and all-steps columns compare different steps, so none is marked best; compare the retention columns and the curves.`
    : '';
  out.push(`<p class="wk-caption">Bold: the best run in that column (for separability, the closest to 0.5, where predicted latents cannot be told from real ones). ${DASH} = not in that run's eval.json.${horizonNote}</p>`);
  const series: Series[] = [];
  for (const run of runs) {
    const o = run.ev.rollout?.semantic?.overall;
    if (!o) continue;
    series.push({ name: run.name, values: nums(o.retention), color: run.color });
    series.push({ name: `${run.name}: copy-last`, values: nums(o.copyLastRetention), color: run.color, dash: true });
  }
  const charts: string[] = [];
  charts.push(series.length ? chart('semantic retention per run (dashed: its copy-last)', 'retention', series, { yMin: 0, yMax: 1, refLines: [{ y: 1, label: 'as good as the real frames' }] }) : note('No run has semantic retention: no overlaid curves.'));
  const chSeries: Series[] = runs.filter((r) => r.ev.rollout?.semantic?.overall?.changed).map((r) => ({ name: r.name, values: nums(r.ev.rollout!.semantic!.overall.changed.accuracy?.predicted), color: r.color }));
  if (chSeries.length) charts.push(chart('accuracy where the label changed, per run', 'probe accuracy', chSeries, { yMin: 0, yMax: 1 }));
  out.push(`<div class="wk-grid">${charts.join('\n')}</div>`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1240px;padding:16px 24px;color:#222;line-height:1.4}
h1{font-size:24px;margin:8px 0}h2{font-size:20px;border-bottom:2px solid #333;margin-top:36px}h3{font-size:17px;margin:24px 0 8px;color:#333}h4{font-size:14px;margin:16px 0 6px}
nav{font-size:13px;color:#555}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}thead th{background:#f2f2f2;text-align:center}tbody th{text-align:left;font-weight:normal;background:#fafafa}
.wk-headline td{min-width:90px}.wk-headline{font-size:14px}
.wk-verdict{font-size:16px;background:#f5f8ff;border-left:4px solid #1f77b4;padding:8px 12px;max-width:1100px}
.wk-note{background:#f6f6f6;border-left:4px solid #999;padding:6px 10px;color:#444}
.wk-warn{background:#fff4e0;border-left:4px solid #e69500;padding:6px 10px}
.wk-error{background:#fde8e8;border-left:4px solid #c00;padding:6px 10px}
.wk-caption{font-size:13px;color:#555;max-width:1100px}.wk-dim{color:#888}
.wk-ok{color:#1a7f1a;font-weight:bold}.wk-bad{color:#c00;font-weight:bold}
.wk-grid{display:flex;flex-wrap:wrap;gap:12px}.wk-row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.wk-fig{margin:0}.wk-fig figcaption{font-size:12px;color:#555;max-width:560px}
.wk-window{margin:12px 0 20px;overflow-x:auto}.wk-wtitle{font-size:14px;margin-bottom:4px}
.wk-film{display:grid;grid-template-columns:10em max-content;gap:2px 8px;align-items:center}
.wk-rowlabel{font-size:12px;text-align:right;color:#333}.wk-headname{color:#666}
.wk-cols{display:grid;box-sizing:border-box}
.wk-steps div{font-size:11px;color:#888;text-align:center}
.wk-lab{font-size:11px;line-height:1.15;text-align:center;overflow-wrap:anywhere;border-radius:3px;padding:1px 0}
.wk-right{background:#e6f4e6}.wk-wrong{background:#fbe3e3}
img.wk-strip{image-rendering:pixelated;display:block}
.wk-png img{max-width:100%;height:auto;image-rendering:pixelated}.wk-png figcaption{font-size:12px;color:#555}
.wk-comparison tbody th{white-space:nowrap}.wk-best{font-weight:bold}
.wk-swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:12px}
.wk-path{font-size:12px;color:#777;font-family:monospace}
`;

function runSections(run: RunData, i: number, counter: { points: number }, multi: boolean): string {
  const id = `run${i}`;
  const parts: string[] = [];
  parts.push(`<section id="${id}">`);
  parts.push(`<h2>${multi ? 'Run: ' : ''}${esc(run.name)}</h2><p class="wk-path">${esc(run.loc.given)}</p>`);
  const sec = (key: string, title: string, f: () => string) => parts.push(`<h3 id="${id}-${key}">${title}</h3>\n${guard(title, f)}`);
  sec('headline', 'Where and when the meaning is lost', () => headline(run));
  sec('data', 'Data and the semantic probe', () => dataAndProbe(run));
  sec('recon', 'Reconstructions', () => reconstructions(run));
  sec('film', 'Rollout filmstrips with the probe\'s labels', () => filmstrips(run));
  sec('curves', 'Per-step curves (each against copy-last)', () => perStepCharts(run));
  sec('tsne', 't-SNE of real and predicted latents', () => tsneSection(run, counter));
  sec('training', 'Training', () => training(run));
  parts.push('</section>');
  return parts.join('\n');
}

/** One run's files (eval.json required; tsne.json and filmstrips.json optional). */
function readRun(fn: string, what: string, loc: RunLocation, name: string, color: string): RunData {
  let evJson: unknown;
  try {
    evJson = readJson(path.join(loc.evalDir, 'eval.json'));
  } catch (e) {
    throw new Error(`${fn}: ${what}: ${(e as Error).message}`);
  }
  if (!evJson || typeof evJson !== 'object' || Array.isArray(evJson)) throw new Error(`${fn}: ${path.join(loc.evalDir, 'eval.json')}: expected a JSON object, got ${Array.isArray(evJson) ? 'an array' : typeof evJson}`);
  const tsne = readOptional<TsneFile>(loc.evalDir, 'tsne.json', 'no t-SNE of latents: evaluated without a predictor, or by an older version');
  const film = readOptional<FilmstripFile>(loc.evalDir, 'filmstrips.json', 'no rollout filmstrips with probe labels: an older run, or no predictor');
  return { loc, name, color, ev: evJson as EvalFile, tsne: tsne.data, tsneProblem: tsne.problem, film: film.data, filmProblem: film.problem };
}

/** The HTML page around a body (one CSP, style and layout for every report). */
function page(title: string, body: string[], extraCss = ''): string {
  // No script, no network: the CSP makes the page refuse both even if a file smuggled markup in.
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>${CSS}${extraCss}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}

/** Writes one self-contained report.html for the run folders (see the top of this file). */
export function writeReport(runDirs: string[], opts: ReportOptions = {}): ReportResult {
  const fn = 'writeReport';
  if (!Array.isArray(runDirs) || !runDirs.length || runDirs.some((d) => typeof d !== 'string' || !d))
    throw typeError(fn, 'runDirs', 'a non-empty array of folder paths', runDirs);
  if (opts.out !== undefined && (typeof opts.out !== 'string' || !opts.out)) throw typeError(fn, 'opts.out', 'a file path', opts.out);
  if (opts.title !== undefined && typeof opts.title !== 'string') throw typeError(fn, 'opts.title', 'a string', opts.title);
  runDirs.forEach((d, i) => {
    const p = runDirProblem(d);
    if (p) throw new Error(`${fn}: runDirs[${i}]: ${p}`);
  });
  if (runDirs.some(isAblationDir)) {
    if (runDirs.length > 1) throw new Error(`${fn}: ${runDirs.find(isAblationDir)} is an ablation folder (ablation.json): report it alone, it compares its own runs`);
    return writeAblationReport(runDirs[0], opts);
  }
  const locs = runDirs.map(locate);
  // names: the run folder's name, or its path when two runs share a name
  const base = locs.map((l) => path.basename(l.root ?? l.given) + (l.root ? '' : ' (eval)'));
  const names = base.map((b, i) => (base.indexOf(b) !== base.lastIndexOf(b) ? path.relative(process.cwd(), locs[i].given) || b : b));
  const runs: RunData[] = locs.map((loc, i) => readRun(fn, `runDirs[${i}]`, loc, names[i], PALETTE[i % PALETTE.length]));
  const multi = runs.length > 1;
  const out = path.resolve(opts.out ?? (multi ? 'report.html' : path.join(locs[0].given, 'report.html')));
  const title = opts.title ?? `worldkit report: ${names.join(', ')}`;
  const counter = { points: 0 };
  const body: string[] = [];
  body.push(`<h1>${esc(title)}</h1>`);
  const nav: string[] = [];
  if (multi) nav.push('<a href="#comparison">comparison</a>');
  runs.forEach((r, i) => nav.push(`<a href="#run${i}">${esc(r.name)}</a> (<a href="#run${i}-film">filmstrips</a>, <a href="#run${i}-curves">curves</a>, <a href="#run${i}-tsne">t-SNE</a>)`));
  body.push(`<nav>${nav.join(' · ')}</nav>`);
  if (multi) body.push(`<section id="comparison"><h2>Comparison of ${runs.length} runs</h2>\n${guard('comparison', () => comparison(runs))}</section>`);
  runs.forEach((r, i) => body.push(runSections(r, i, counter, multi)));
  body.push(`<p class="wk-caption">Written by worldkit report on ${esc(new Date().toISOString())} from ${runs.map((r) => esc(r.loc.evalDir)).join(', ')}.</p>`);
  const html = page(title, body);
  writeFileAtomic(out, html);
  const charts = (html.match(/<svg [^>]*class="wk-chart[ "]/g) ?? []).length;
  return { file: out, charts, points: counter.points };
}

// ---------------------------------------------------------------------------------------------
// An ablation (`worldkit ablate`): variants x seeds, compared on means and spreads

function readAblation(fn: string, dir: string): AblationFile {
  const file = path.join(dir, ABLATION_JSON);
  const a = readJson(file) as AblationFile;
  if (!a || typeof a !== 'object' || Array.isArray(a) || !Array.isArray(a.rows)) throw new Error(`${fn}: ${file}: expected the object worldkit ablate writes (with rows)`);
  return a;
}

/** "mean ± spread" of a summary (just the mean with one seed). */
function meanSpread(s: MetricSummary | undefined, show: (v: number) => string): string {
  if (!s || !num(s.n)) return DASH;
  return num(s.n) > 1 ? `${show(num(s.mean))}<span class="wk-dim"> ± ${show(num(s.std))}</span>` : show(num(s.mean));
}

function ablationTable(a: AblationFile): string {
  const steps = nums(a.steps).filter((k) => Number.isInteger(k) && k >= 1);
  const lastK = steps.length ? steps[steps.length - 1] : NaN;
  interface Col { head: string; key: string; show: (v: number) => string; better: 'high' | 'low' | 'half' | 'none'; heat?: boolean }
  const cols: Col[] = [
    ...steps.map((k): Col => ({ head: `retention step ${k}`, key: `retention@${k}`, show: (v) => fix(v), better: 'high', heat: true })),
    ...steps.map((k): Col => ({ head: `changed: retention step ${k}`, key: `retention_changed@${k}`, show: (v) => fix(v), better: 'high', heat: true })),
    { head: `PSNR vs real (dB, step ${lastK})`, key: `psnr@${lastK}`, show: (v) => fix(v, 1), better: 'high' },
    { head: `SSIM vs real (step ${lastK})`, key: `ssim@${lastK}`, show: (v) => fix(v, 3), better: 'high' },
    { head: `latent MSE (step ${lastK})`, key: `latent_mse@${lastK}`, show: sci, better: 'low' },
    { head: `separability (step ${lastK})`, key: `separability@${lastK}`, show: (v) => fix(v, 2), better: 'half' },
    { head: `Fréchet (step ${lastK})`, key: `frechet@${lastK}`, show: sci, better: 'low' },
    { head: 'recon PSNR (dB)', key: 'recon_psnr', show: (v) => fix(v, 1), better: 'high' },
    { head: 'training (min)', key: 'train_minutes', show: (v) => fix(v, 2), better: 'none' },
    { head: 'wall (min)', key: 'wall_minutes', show: (v) => fix(v, 2), better: 'none' },
  ];
  const rows = arr<AblationRow>(a.rows).filter((r) => r && typeof r === 'object');
  const score = (c: Col, v: number) => (!Number.isFinite(v) ? NaN : c.better === 'high' ? v : c.better === 'low' ? -v : c.better === 'half' ? -Math.abs(v - 0.5) : NaN);
  const meanOf = (r: AblationRow, c: Col) => num(r.metrics?.[c.key]?.mean);
  // the best variant's mean per column (copy-last is the reference, not a contender)
  const best = cols.map((c) => {
    const f = rows.map((r) => score(c, meanOf(r, c))).filter(Number.isFinite);
    return f.length >= 2 ? Math.max(...f) : NaN;
  });
  const line = (r: AblationRow, i: number, ref: boolean) => [
    th(`${ref ? '' : `<span class="wk-swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>`}${ref ? `<i>${esc(str(r.variant))}</i>` : esc(str(r.variant))} <span class="wk-dim">(${arr(r.seeds).length} seed${arr(r.seeds).length === 1 ? '' : 's'})</span>`),
    ...cols.map((c, ci) => {
      const m = meanOf(r, c);
      const b = !ref && Number.isFinite(best[ci]) && score(c, m) === best[ci];
      return td(meanSpread(r.metrics?.[c.key], c.show), `${c.heat ? heat(m) : ''}${b ? ' class="wk-best"' : ''}`);
    }),
  ];
  const body = rows.map((r, i) => line(r, i, false));
  if (a.copyLast) body.push(line(a.copyLast, 0, true));
  const out: string[] = [];
  out.push(`<div class="wk-scroll">${table(['variant', ...cols.map((c) => c.head)], body, 'wk-comparison wk-ablation')}</div>`);
  out.push(
    `<p class="wk-caption">Each cell: the mean over the variant's seeds ± the spread (${esc(str(a.spread, 'sample standard deviation over the seeds'))}). Bold: the best variant's mean in that column (for separability the closest to 0.5, where predicted latents cannot be told from real ones). "changed": the windows whose true label at that step differs from the last context frame's, where copy-last must fail; a remedy helps there when its mean beats both the baseline's and copy-last's by more than their spreads. <i>copy-last</i> holds the last context frame (no model): the reference row. ${DASH} = not measured (no labels, or no run finished).</p>`,
  );
  const cnt = rows[0] ? steps.map((k) => num(rows[0].metrics?.[`changed_count@${k}`]?.mean)) : [];
  if (cnt.some(Number.isFinite)) out.push(`<p class="wk-caption">Changed-label samples (windows x label heads) per run at steps ${steps.join(', ')}: ${cnt.map((c) => fix(c, 1)).join(', ')} (mean over the seeds); the changed columns rest on these few.</p>`);
  const list = rows.map((r) => `<li><b>${esc(str(r.variant))}</b>: ${esc(str(r.description))} <span class="wk-dim">(seeds ${arr(r.seeds).map((x) => esc(str(x))).join(', ')})</span></li>`);
  out.push(`<ul class="wk-caption">${list.join('')}</ul>`);
  return out.join('\n');
}

/** The paired differences (ablation.json rows[].paired): each variant minus the baseline / copy-last on the same seed. */
function ablationPaired(a: AblationFile): string {
  const steps = nums(a.steps).filter((k) => Number.isInteger(k) && k >= 1);
  const rows = arr<AblationRow>(a.rows).filter((r) => r && typeof r === 'object' && r.paired && typeof r.paired === 'object');
  if (!rows.length) return '<p class="wk-caption">No paired differences in this ablation.json (written before they existed): rerun <code>worldkit ablate</code> on the folder to add them.</p>';
  const cell = (s: MetricSummary | undefined) => {
    if (!s || !num(s.n)) return td(DASH);
    const m = num(s.mean);
    const text = `${m >= 0 ? '+' : ''}${meanSpread(s, (v) => fix(v))}`;
    return td(num(s.n) > 1 && Math.abs(m) > num(s.std) ? `<b>${text}</b>` : text);
  };
  const heads = ['variant', ...steps.map((k) => `step ${k}`), ...steps.map((k) => `changed: step ${k}`)];
  const out: string[] = [];
  for (const [which, title] of [['baseline', 'minus the baseline'], ['copyLast', 'minus copy-last']] as const) {
    const rs = rows.filter((r) => r.paired?.[which]);
    if (!rs.length) continue;
    const body = rs.map((r) => [th(esc(str(r.variant))), ...steps.map((k) => cell(r.paired![which]![`retention@${k}`])), ...steps.map((k) => cell(r.paired![which]![`retention_changed@${k}`]))]);
    out.push(`<h3>Retention ${title}, seed by seed</h3>`, `<div class="wk-scroll">${table(heads, body, 'wk-comparison wk-ablation')}</div>`);
  }
  out.push(
    '<p class="wk-caption">Per seed, the variant\'s retention minus the reference\'s on the same seed (same data, same test windows), then the mean ± spread over the seeds. Bold: the mean is larger than its spread. The seeds\' roads move every variant together, so a paired difference can be clear where the rows\' own spreads overlap.</p>',
  );
  return out.join('\n');
}

function ablationCharts(a: AblationFile): string {
  const rows = arr<AblationRow>(a.rows).filter((r) => r && typeof r === 'object');
  const cl = a.copyLast;
  const series = (key: string): Series[] => {
    const s: Series[] = rows.map((r, i) => ({ name: str(r.variant), values: nums(r.curves?.[key]), color: PALETTE[i % PALETTE.length] }));
    if (cl && cl.curves?.[key]) s.push({ name: 'copy-last', values: nums(cl.curves[key]), color: C_COPY, dash: true });
    return s;
  };
  const charts: string[] = [];
  charts.push(chart('semantic retention (mean over seeds)', 'retention', series('retention'), { yMin: 0, yMax: 1, refLines: [{ y: 1, label: 'as good as the real frames' }] }));
  charts.push(chart('retention where the label changed (mean over seeds)', 'retention', series('retention_changed'), { yMin: 0, yMax: 1 }));
  charts.push(chart('PSNR of decoded predictions vs real (mean over seeds)', 'PSNR (dB)', series('psnr')));
  charts.push(chart('real vs predicted latents: separability (mean over seeds)', 'classifier accuracy', series('separability'), { yMin: 0, yMax: 1, refLines: [{ y: 0.5, label: 'indistinguishable' }] }));
  return `<div class="wk-grid">${charts.join('\n')}</div>`;
}

/** The same test window (the first filmstrip of each variant's first seed): real, reconstruction and prediction with the probe's labels. */
function ablationFilmstrips(fn: string, a: AblationFile, dir: string): string {
  const base = path.resolve(dir);
  const out: string[] = [];
  for (const v of arr<string>(a.variants)) {
    const run = arr<AblationFile['runs'][number]>(a.runs).filter((r) => r && r.variant === v).sort((x, y) => num(x.seed) - num(y.seed))[0];
    if (!run) continue;
    const runDir = path.resolve(base, str(run.dir));
    if (!runDir.startsWith(base + path.sep)) {
      out.push(note(`${str(v)}: run folder '${str(run.dir)}' is outside ${base}: not shown`, 'warn'));
      continue;
    }
    out.push(
      guard(`filmstrip of ${str(v)}`, () => {
        if (!isFile(path.join(runDir, 'eval', 'eval.json'))) return note(`${str(v)}, seed ${str(run.seed)}: no eval/eval.json in ${runDir}`);
        const rd = readRun(fn, `${str(v)} seed ${str(run.seed)}`, locate(runDir), str(v), C_MODEL);
        const w = arr<FilmWindow>(rd.film?.windows)[0];
        if (!w) return note(`${str(v)}, seed ${str(run.seed)}: ${rd.filmProblem ?? 'filmstrips.json has no windows'}`);
        return filmWindow(rd, w, arr<LabelHead>(rd.film?.heads), { labels: true, caption: `<b>${esc(str(v))}</b>, seed ${esc(str(run.seed))} <span class="wk-dim">· ${esc(str(w.title, 'window'))}</span>` });
      }),
    );
  }
  return out.length ? out.join('\n') : note('No run has filmstrips.');
}

function ablationRuns(a: AblationFile): string {
  const runs = arr<AblationFile['runs'][number]>(a.runs).filter((r) => r && typeof r === 'object');
  const rows = runs.map((r) => [
    th(`${esc(str(r.variant))} seed ${esc(str(r.seed))}`),
    td(`<span class="wk-path">${esc(str(r.dir))}</span>`),
    td(`${esc(str(r.steps?.vae))}${r.sharedVae ? ' <span class="wk-dim">(shared)</span>' : ''}`),
    td(esc(str(r.steps?.predictor))),
    td(fix(num(r.seconds?.vae) / 60)),
    td(fix(num(r.seconds?.predictor) / 60)),
    td(fix(num(r.seconds?.evaluate), 1)),
    td(esc(arr<string>(r.warnings).map((w) => str(w)).join('; ')), ' style="text-align:left"'),
  ]);
  const out = [table(['run', 'folder', 'VAE steps', 'predictor steps', 'VAE phase (min)', 'predictor phase (min)', 'evaluation (s)', 'warnings'], rows)];
  const missing = arr<AblationFile['missing'][number]>(a.missing);
  if (missing.length) out.push(note(`Not finished: ${missing.map((m) => `${str(m.variant)} seed ${str(m.seed)} (${str(m.reason)})`).join('; ')}.`, 'warn'));
  for (const n of arr<string>(a.notes)) out.push(note(str(n)));
  out.push('<p class="wk-caption">Each run\'s own report: <code>worldkit report &lt;folder&gt;</code> (with the folder above, inside this ablation\'s folder).</p>');
  return out.join('\n');
}

/** The ablation page's own rules (a mean and its spread stay on one line; the wide table scrolls). */
const ABLATION_CSS = `
.wk-scroll{overflow-x:auto;max-width:100%}.wk-ablation td{white-space:nowrap}.wk-ablation thead th{min-width:64px}
`;

/** The seeds' training times when they differ (a seed's is planned when it starts, the same for all its variants). */
function seedBudgets(a: AblationFile): string {
  const sb = arr<{ seed: number; vaeMinutes: number; predictorMinutes: number }>(a.seedBudgets);
  const t = sb.map((b) => num(b?.vaeMinutes) + num(b?.predictorMinutes));
  if (t.length < 2 || t.every((v) => Math.abs(v - t[0]) < 0.005)) return '';
  return `; the mean over the seeds, per seed (the same for every variant of a seed): ${sb.map((b, i) => `seed ${str(b?.seed)} ${fix(t[i])}`).join(', ')} min`;
}

/**
 * report.html of an ablation folder (ablation.json, written by `worldkit ablate`): the comparison
 * table (mean ± spread per variant, copy-last as reference), overlaid mean curves, the first
 * test window of every variant with the probe's labels, and the runs.
 */
export function writeAblationReport(dir: string, opts: ReportOptions = {}): ReportResult {
  const fn = 'writeAblationReport';
  if (typeof dir !== 'string' || !dir) throw typeError(fn, 'dir', 'an ablation folder (with ablation.json)', dir);
  if (!isFile(path.join(dir, ABLATION_JSON))) throw new Error(`${fn}: '${dir}' has no ${ABLATION_JSON} (run worldkit ablate first)`);
  const a = readAblation(fn, dir);
  const out = path.resolve(opts.out ?? path.join(dir, 'report.html'));
  const title = opts.title ?? `worldkit ablate: ${str(a.data, path.basename(path.resolve(dir)))}`;
  const budget = a.budgetMinutes === null || a.budgetMinutes === undefined
    ? 'no time budget (the same epochs for every variant)'
    : `a budget of ${fix(num(a.budgetMinutes), 1)} min in all${a.variantBudget ? `, ${fix(num(a.variantBudget.vaeMinutes) + num(a.variantBudget.predictorMinutes))} min of training per variant (VAE phase ${fix(num(a.variantBudget.vaeMinutes))} + predictor phase ${fix(num(a.variantBudget.predictorMinutes))}; a shared VAE counts for every variant using it)${seedBudgets(a)}` : ''}`;
  const body: string[] = [];
  body.push(`<h1>${esc(title)}</h1>`);
  body.push('<nav><a href="#comparison">comparison</a> · <a href="#ablation-paired">seed by seed</a> · <a href="#ablation-curves">curves</a> · <a href="#ablation-film">filmstrips</a> · <a href="#ablation-runs">runs</a></nav>');
  body.push(`<p class="wk-caption">${arr(a.rows).length} variant(s) x seeds ${arr(a.seeds).map((s) => esc(str(s))).join(', ')}; ${esc(str(a.context))} context frames, ${esc(str(a.horizon))} imagined steps; ${esc(budget)}. Wall time: ${fix(num(a.wallMinutes), 1)} min.</p>`);
  body.push(`<section id="comparison"><h2>Comparison of ${arr(a.rows).length} variants</h2>\n${guard('comparison', () => ablationTable(a))}</section>`);
  body.push(`<section id="ablation-paired"><h2>Seed by seed: against the baseline and copy-last</h2>\n${guard('paired differences', () => ablationPaired(a))}</section>`);
  body.push(`<section id="ablation-curves"><h2>Per-step curves (mean over seeds; dashed: copy-last)</h2>\n${guard('curves', () => ablationCharts(a))}</section>`);
  body.push(`<section id="ablation-film"><h2>The same test window, per variant</h2>\n${guard('filmstrips', () => ablationFilmstrips(fn, a, dir))}</section>`);
  body.push(`<section id="ablation-runs"><h2>Runs</h2>\n${guard('runs', () => ablationRuns(a))}</section>`);
  body.push(`<p class="wk-caption">Written by worldkit on ${esc(new Date().toISOString())} from ${esc(path.resolve(dir, ABLATION_JSON))}.</p>`);
  const html = page(title, body, ABLATION_CSS);
  writeFileAtomic(out, html);
  const charts = (html.match(/<svg [^>]*class="wk-chart[ "]/g) ?? []).length;
  return { file: out, charts, points: 0 };
}
