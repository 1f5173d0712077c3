/**
 * The usage chart of the admin reports page, drawn with uPlot (bundled here by build.ts into
 * public/build/chart.js and chart.css; nothing is loaded from another origin).
 *
 * The page carries the numbers twice: in a table (what screen readers and keyboard users read,
 * and what shows when this script does not run) and as JSON in
 *   <script type="application/json" id="usage-data">{"at":[…seconds], "series":[{"label","values":[…]}]}</script>
 * for the chart, drawn into <div id="usage-chart" role="img" aria-label="…">.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// The project compiles without the DOM types; this is the little of the DOM used here.
interface Elem {
  textContent: string | null;
  clientWidth: number;
  hidden: boolean;
}
declare const document: { getElementById(id: string): Elem | null };

interface ChartData {
  at: number[];
  series: { label: string; values: number[] }[];
}

const COLOURS = ['#1a5e20', '#b3261e', '#0b57d0', '#8e4b00'];

function draw(): void {
  const box = document.getElementById('usage-chart');
  const source = document.getElementById('usage-data');
  if (!box || !source?.textContent) return;
  const data = JSON.parse(source.textContent) as ChartData;
  const Plot = uPlot as unknown as new (opts: unknown, data: unknown, target: unknown) => unknown;
  box.hidden = false;
  new Plot(
    {
      width: Math.max(280, box.clientWidth),
      height: 260,
      // UTC, as the report's buckets are
      tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      series: [{}, ...data.series.map((s, i) => ({ label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
      axes: [{}, { values: (_u: unknown, ticks: number[]) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) }],
    },
    [data.at, ...data.series.map((s) => s.values)],
    box,
  );
}

draw();
