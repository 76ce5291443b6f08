/**
 * A small SVG line chart (error per rollout step, loss curves): no dependencies, readable in
 * any browser or image viewer.
 */
export interface Series {
  name: string;
  values: number[];
  color?: string;
  /** Dashed line: the report draws references (copy-last, the reconstruction ceiling) dashed. */
  dash?: boolean;
}

/** Options the HTML report needs (all off by default). */
export interface ChartExtras {
  /** class attribute of the <svg> (the report marks its charts `wk-chart`). */
  className?: string;
  /** The y axis spans at least [yMin, yMax] (data outside still widens it), so accuracy-like
   * quantities are read on their 0..1 scale rather than on a zoomed-in range that exaggerates. */
  yMin?: number;
  yMax?: number;
  /** Horizontal reference lines (retention 1, chance separability 0.5). */
  refLines?: { y: number; label: string }[];
  /** A dot at every value: a single-step horizon otherwise draws nothing visible. */
  markers?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}

export function lineChartSvg(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; width?: number; height?: number; xStart?: number; logY?: boolean } & ChartExtras): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  // the legend sits right of the plot: wide enough for its longest name (about 7 px a character at 12 px)
  const legendChars = Math.max(0, ...opts.series.map((s) => s.name.length));
  const m = { l: 70, r: Math.max(150, 45 + 7 * legendChars), t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xStart = opts.xStart ?? 1;
  const all = opts.series.flatMap((s) => s.values.filter((v) => Number.isFinite(v) && (!opts.logY || v > 0)));
  const n = Math.max(1, ...opts.series.map((s) => s.values.length));
  const tf = (v: number) => (opts.logY ? Math.log10(v) : v);
  let lo = all.length ? Math.min(...all.map(tf)) : 0;
  let hi = all.length ? Math.max(...all.map(tf)) : 1;
  if (!opts.logY) lo = Math.min(0, lo);
  if (opts.yMin !== undefined && (!opts.logY || opts.yMin > 0)) lo = Math.min(lo, tf(opts.yMin));
  if (opts.yMax !== undefined && (!opts.logY || opts.yMax > 0)) hi = Math.max(hi, tf(opts.yMax));
  if (hi === lo) hi = lo + 1;
  const x = (i: number) => m.l + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => m.t + ph - ((tf(v) - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  const cls = opts.className ? ` class="${esc(opts.className)}"` : '';
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg"${cls} width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2 - m.r / 2}" y="22" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`);
  parts.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="black"/>`);
  parts.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="black"/>`);
  for (let k = 0; k <= 4; ++k) {
    const tv = lo + ((hi - lo) * k) / 4;
    const yy = m.t + ph - (ph * k) / 4;
    const label = opts.logY ? niceNumber(Math.pow(10, tv)) : niceNumber(tv);
    parts.push(`<line x1="${m.l - 4}" y1="${yy}" x2="${m.l + pw}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 8}" y="${yy + 4}" text-anchor="end">${label}</text>`);
  }
  // every step of a rollout horizon (up to 20) gets its tick; longer axes (epochs) get 10
  const ticks = n <= 20 ? n : 10;
  for (let k = 0; k < ticks; ++k) {
    const i = ticks === 1 ? 0 : Math.round((k * (n - 1)) / (ticks - 1));
    parts.push(`<text x="${x(i)}" y="${m.t + ph + 18}" text-anchor="middle">${i + xStart}</text>`);
  }
  for (const r of opts.refLines ?? []) {
    if (!Number.isFinite(r.y) || (opts.logY && r.y <= 0)) continue;
    const yy = y(r.y).toFixed(1);
    parts.push(`<line x1="${m.l}" y1="${yy}" x2="${m.l + pw}" y2="${yy}" stroke="#888" stroke-dasharray="2 3"/>`);
    parts.push(`<text x="${m.l + pw - 4}" y="${Number(yy) - 4}" text-anchor="end" fill="#666" font-size="11">${esc(r.label)}</text>`);
  }
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length];
    const pts = s.values
      .map((v, i) => (Number.isFinite(v) && (!opts.logY || v > 0) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    const dash = s.dash ? ' stroke-dasharray="6 4"' : '';
    const mark = opts.className ? ' class="wk-mark"' : '';
    // a single point makes no line; with markers its dot is what shows
    if (pts.length > 1 || (pts.length && !opts.markers)) parts.push(`<polyline${mark} fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts.join(' ')}"/>`);
    if (opts.markers) for (const p of pts) {
      const [cx, cy] = p.split(',');
      parts.push(`<circle${mark} cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
    }
    const ly = m.t + 10 + si * 18;
    parts.push(`<line x1="${m.l + pw + 10}" y1="${ly}" x2="${m.l + pw + 30}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${m.l + pw + 35}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
