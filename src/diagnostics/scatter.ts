/**
 * A small SVG scatter plot for 2-D embeddings (the report's t-SNE views): one <circle> per point,
 * no dependencies, like chart.ts. Both axes share one scale, because distances are all a t-SNE
 * embedding means; its coordinates themselves mean nothing, so no axis ticks are drawn.
 *
 * Legends use <rect> swatches, never circles, so that the circles of a plot are exactly its
 * points (the `data-points` attribute gives their count; the browser test checks the two agree).
 */
import { typeError } from '../errors';

export interface ScatterPoint {
  x: number;
  y: number;
  color: string;
  /** Filled disc (default) or ring: the report draws real latents filled, predicted ones as rings. */
  filled?: boolean;
  /** Tooltip (plain text; escaped here). */
  title?: string;
}

export interface ScatterLegendEntry {
  name: string;
  color: string;
  filled?: boolean;
}

export interface ScatterOptions {
  title: string;
  points: ScatterPoint[];
  legend?: ScatterLegendEntry[];
  /** A colour bar for a sequential colouring (rollout step): one swatch per colour, labelled at both ends. */
  colorBar?: { label: string; colors: string[]; first: string; last: string };
  width?: number;
  height?: number;
  radius?: number;
  className?: string;
  /** Legend rows to reserve below the plot (default: as many as this plot's legend needs); plots shown
   * side by side pass the same number so that their plot areas line up. */
  legendRows?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Colours come from the caller's palettes, but they end up inside attributes: accept only plain colour syntax. */
function safeColor(c: string): string {
  return /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{1,30}|(rgb|hsl)a?\([0-9.,%\s]+\))$/.test(c) ? c : '#000';
}

const LEGEND_ROW = 18;

/** Legend entries flow left to right and wrap (about 7 px a character at 12 px): their positions and row count. */
function layoutLegend(legend: ScatterLegendEntry[], width: number, left: number): { x: number; row: number }[] {
  const out: { x: number; row: number }[] = [];
  let x = left, row = 0;
  for (const e of legend) {
    const w = 18 + 7 * e.name.length + 14;
    if (x > left && x + w > width - left) {
      x = left;
      row++;
    }
    out.push({ x, row });
    x += w;
  }
  return out;
}

/** Rows below the plot that this plot's legend and colour bar need (see ScatterOptions.legendRows). */
export function scatterLegendRows(opts: Pick<ScatterOptions, 'legend' | 'colorBar' | 'width'>): number {
  const lay = layoutLegend(opts.legend ?? [], opts.width ?? 420, 12);
  return (lay.length ? lay[lay.length - 1].row + 1 : 0) + (opts.colorBar ? 2 : 0);
}

/** Returns the SVG text; points with a non-finite coordinate are left out (and not counted in data-points). */
export function scatterSvg(opts: ScatterOptions): string {
  const fn = 'scatterSvg';
  if (!Array.isArray(opts.points)) throw typeError(fn, 'opts.points', 'an array of {x, y, color}', opts.points);
  const W = opts.width ?? 420;
  const H = opts.height ?? 420;
  const r = opts.radius ?? 3;
  const legendRows = Math.max(opts.legendRows ?? 0, scatterLegendRows(opts));
  const m = { l: 12, r: 12, t: 34, b: 10 + legendRows * LEGEND_ROW };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const pts = opts.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const p of pts) {
    x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x);
    y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y);
  }
  if (!pts.length) { x0 = y0 = 0; x1 = y1 = 1; }
  // one scale for both axes (the larger extent fills its side), centred, with a radius of margin
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const s = Math.min(pw - 2 * r - 2, ph - 2 * r - 2) / span;
  const cx = m.l + pw / 2, cy = m.t + ph / 2;
  const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
  const px = (v: number) => (cx + (v - mx) * s).toFixed(1);
  const py = (v: number) => (cy - (v - my) * s).toFixed(1); // SVG y grows downwards
  const out: string[] = [];
  const cls = opts.className ? ` class="${esc(opts.className)}"` : '';
  out.push(`<svg xmlns="http://www.w3.org/2000/svg"${cls} data-points="${pts.length}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`);
  for (const p of pts) {
    const c = safeColor(p.color);
    const paint = p.filled === false ? `fill="white" fill-opacity="0.6" stroke="${c}" stroke-width="1.5"` : `fill="${c}" fill-opacity="0.8" stroke="none"`;
    const tip = p.title ? `<title>${esc(p.title)}</title>` : '';
    out.push(`<circle class="wk-mark" cx="${px(p.x)}" cy="${py(p.y)}" r="${r}" ${paint}>${tip}</circle>`);
  }
  const top = m.t + ph + 20;
  const legend = opts.legend ?? [];
  const lay = layoutLegend(legend, W, m.l);
  legend.forEach((e, i) => {
    const c = safeColor(e.color);
    const { x, row } = lay[i];
    const y = top + row * LEGEND_ROW;
    const paint = e.filled === false ? `fill="white" stroke="${c}" stroke-width="1.5"` : `fill="${c}"`;
    out.push(`<rect x="${x}" y="${y - 9}" width="10" height="10" ${paint}/>`);
    out.push(`<text x="${x + 15}" y="${y}">${esc(e.name)}</text>`);
  });
  if (opts.colorBar) {
    const cb = opts.colorBar;
    let y = top + (lay.length ? lay[lay.length - 1].row + 1 : 0) * LEGEND_ROW;
    out.push(`<text x="${m.l}" y="${y}">${esc(cb.label)}</text>`);
    y += 6;
    const n = Math.max(1, cb.colors.length);
    const bw = Math.min(24, (pw - 60) / n);
    out.push(`<text x="${m.l}" y="${y + 10}">${esc(cb.first)}</text>`);
    cb.colors.forEach((c, i) => out.push(`<rect x="${(m.l + 22 + i * bw).toFixed(1)}" y="${y}" width="${bw.toFixed(1)}" height="12" fill="${safeColor(c)}"/>`));
    out.push(`<text x="${(m.l + 26 + n * bw).toFixed(1)}" y="${y + 10}">${esc(cb.last)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
