/**
 * A small SVG line chart (error per rollout step, loss curves): no dependencies, readable in
 * any browser or image viewer.
 */
export interface Series {
  name: string;
  values: number[];
  color?: string;
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

export function lineChartSvg(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; width?: number; height?: number; xStart?: number; logY?: boolean }): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const m = { l: 70, r: 150, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xStart = opts.xStart ?? 1;
  const all = opts.series.flatMap((s) => s.values.filter((v) => Number.isFinite(v) && (!opts.logY || v > 0)));
  const n = Math.max(1, ...opts.series.map((s) => s.values.length));
  const tf = (v: number) => (opts.logY ? Math.log10(v) : v);
  let lo = all.length ? Math.min(...all.map(tf)) : 0;
  let hi = all.length ? Math.max(...all.map(tf)) : 1;
  if (!opts.logY) lo = Math.min(0, lo);
  if (hi === lo) hi = lo + 1;
  const x = (i: number) => m.l + (n === 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => m.t + ph - ((tf(v) - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
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
  const ticks = Math.min(n, 10);
  for (let k = 0; k < ticks; ++k) {
    const i = ticks === 1 ? 0 : Math.round((k * (n - 1)) / (ticks - 1));
    parts.push(`<text x="${x(i)}" y="${m.t + ph + 18}" text-anchor="middle">${i + xStart}</text>`);
  }
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);
  opts.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length];
    const pts = s.values
      .map((v, i) => (Number.isFinite(v) && (!opts.logY || v > 0) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    if (pts.length) parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(' ')}"/>`);
    const ly = m.t + 10 + si * 18;
    parts.push(`<line x1="${m.l + pw + 10}" y1="${ly}" x2="${m.l + pw + 30}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${m.l + pw + 35}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
