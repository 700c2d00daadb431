/**
 * A stacked bar chart as inline SVG, drawn on the server: one bar per UTC day, one colour per
 * series (a country), with each segment's figure in its tooltip and the same figures in a table
 * beside it for screen readers and for copying. No script and no chart library: the console's
 * pages stay under the hosted pages' strict CSP.
 */
import { escapeHtml } from '../../ui/i18n.js';

/** One figure: a day (YYYY-MM-DD), a series name, a value. */
export interface Point {
  day: string;
  series: string;
  value: number;
}

/** Colours told apart by people with the common colour-vision deficiencies (Okabe–Ito). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#8c8c8c', '#F0E442'];
/** More series than colours: the smallest are summed as one. */
const MAX_SERIES = PALETTE.length;
export const OTHER_SERIES = 'other';

/** Every day from `from` to `to` (inclusive), YYYY-MM-DD, UTC. */
export function daysBetween(from: number, to: number): string[] {
  const days: string[] = [];
  for (let t = Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth(), new Date(from).getUTCDate()); t <= to; t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** The series by total, largest first; beyond the palette, the rest folded into OTHER_SERIES. */
function rankSeries(points: readonly Point[]): { names: string[]; nameOf: (series: string) => string } {
  const totals = new Map<string, number>();
  for (const p of points) totals.set(p.series, (totals.get(p.series) ?? 0) + p.value);
  const ranked = [...totals.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([s]) => s);
  if (ranked.length <= MAX_SERIES) return { names: ranked, nameOf: (s) => s };
  const kept = new Set(ranked.slice(0, MAX_SERIES - 1));
  return { names: [...kept, OTHER_SERIES], nameOf: (s) => (kept.has(s) ? s : OTHER_SERIES) };
}

/** The chart (SVG with a legend) of `points` over `days`, titled `title`. */
export function stackedBarChart(title: string, days: readonly string[], points: readonly Point[]): string {
  const { names, nameOf } = rankSeries(points);
  const cells = new Map<string, number>();
  for (const p of points) {
    const key = `${p.day}|${nameOf(p.series)}`;
    cells.set(key, (cells.get(key) ?? 0) + p.value);
  }
  const totals = days.map((d) => names.reduce((sum, s) => sum + (cells.get(`${d}|${s}`) ?? 0), 0));
  const max = Math.max(1, ...totals);
  const width = 720;
  const height = 220;
  const left = 40;
  const bottom = 24;
  const plotH = height - bottom - 8;
  const step = (width - left) / Math.max(1, days.length);
  const barW = Math.max(2, step * 0.7);
  const ticks = niceTicks(max);
  const y = (v: number) => 8 + plotH - (v / ticks[ticks.length - 1]!) * plotH;
  const grid = ticks
    .map((t) => `<line x1="${left}" x2="${width}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" class="grid"/><text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" class="axis">${t}</text>`)
    .join('');
  const bars = days
    .map((day, i) => {
      let base = 0;
      const x = left + i * step + (step - barW) / 2;
      const segments = names.map((s, si) => {
        const v = cells.get(`${day}|${s}`) ?? 0;
        if (v === 0) return '';
        const top = y(base + v);
        const h = y(base) - top;
        base += v;
        return `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(h, 0.5).toFixed(1)}" fill="${PALETTE[si]}"><title>${escapeHtml(`${day} · ${s}: ${v}`)}</title></rect>`;
      });
      // A label every few days, so they never overlap.
      const every = Math.ceil(days.length / 10);
      const label = i % every === 0 ? `<text x="${(x + barW / 2).toFixed(1)}" y="${height - 6}" text-anchor="middle" class="axis">${day.slice(5)}</text>` : '';
      return segments.join('') + label;
    })
    .join('');
  const legend = names.map((s, i) => `<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" rx="2" fill="${PALETTE[i]}"/></svg>${escapeHtml(s)}</li>`).join('');
  const total = totals.reduce((a, b) => a + b, 0);
  return `<figure class="chart">
<figcaption><strong>${escapeHtml(title)}</strong> <span class="muted">${total} in ${days.length} days</span></figcaption>
<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(`${title}: ${total} in ${days.length} days`)}" preserveAspectRatio="none">${grid}${bars}</svg>
${names.length > 0 ? `<ul class="legend">${legend}</ul>` : '<p class="muted">Nothing in this period.</p>'}
</figure>`;
}

/** Whole-number ticks from 0 to at least `max` (at least 1), about four steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(max: number): number[] {
  const raw = Math.max(1, max / 4);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks = [0];
  while (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks.length > 1 ? ticks : [0, step];
}
