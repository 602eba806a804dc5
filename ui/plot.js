// The learner's quality over time as a uPlot line plot (uPlot is loaded by index.html as the
// global `uPlot`), with drift and warning events marked as vertical lines.

const COLORS = { windowed: '#1f6feb', cumulative: '#6e7781', events: '#8250df', drift: '#cf222e', warning: '#bf8700' };
const AXIS = { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' } };

/** Accuracy is at most 1; the lower bound follows the data, so a learner at 0.95–0.99 is not a flat line at the top. */
function qualityRange(u, min, max) {
  if (min === null || max === null || !Number.isFinite(min)) return [0, 1];
  const lo = Math.max(0, Math.floor((Math.min(min, 0.9) - 0.05) * 10) / 10);
  return [lo, 1];
}

function clock(u, splits) {
  return splits.map((s) => new Date(s * 1000).toLocaleTimeString('en-GB'));
}

/** Draws the markers after the series, inside the plotting area. */
function markersPlugin(getMarkers) {
  return {
    hooks: {
      draw: [(u) => {
        const { ctx, bbox } = u;
        ctx.save();
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const m of getMarkers()) {
          const x = Math.round(u.valToPos(m.time / 1000, 'x', true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.strokeStyle = m.kind === 'drift' ? COLORS.drift : COLORS.warning;
          ctx.setLineDash(m.kind === 'drift' ? [] : [4 * devicePixelRatio, 4 * devicePixelRatio]);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

export class QualityPlot {
  /** host: an element to draw into; metric: 'accuracy' or 'r2' */
  constructor(host, metric) {
    this.host = host;
    this.markers = [];
    const fixed = (v) => (v == null ? '–' : v.toFixed(4));
    this.uplot = new uPlot({
      width: Math.max(300, host.clientWidth),
      height: 260,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: metric === 'accuracy' ? { range: qualityRange } : { auto: true }, n: { auto: true, range: (u, min, max) => [0, Math.max(1, max ?? 1)] } },
      axes: [
        // whole seconds at least, so no two ticks read the same
        { ...AXIS, values: clock, space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400] },
        { ...AXIS, scale: 'y', size: 50, values: (u, vals) => vals.map((v) => v.toFixed(2)), label: metric, labelSize: 18 },
        { ...AXIS, scale: 'n', side: 1, size: 60, grid: { show: false }, values: (u, vals) => vals.map((v) => v.toLocaleString('en-US')), label: 'labels learned', labelSize: 18 },
      ],
      series: [
        { label: 'time', value: (u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleTimeString('en-GB')) },
        { label: `windowed ${metric}`, scale: 'y', stroke: COLORS.windowed, width: 2, value: (u, v) => fixed(v), points: { show: false } },
        { label: `cumulative ${metric}`, scale: 'y', stroke: COLORS.cumulative, width: 1.5, dash: [6, 4], value: (u, v) => fixed(v), points: { show: false } },
        { label: 'labels learned', scale: 'n', stroke: COLORS.events, width: 1, fill: 'rgba(130, 80, 223, 0.07)', value: (u, v) => (v == null ? '–' : v.toLocaleString('en-US')), points: { show: false } },
      ],
      plugins: [markersPlugin(() => this.markers)],
      // away from the cursor the legend shows the latest values rather than dashes
      hooks: { setLegend: [(u) => { if (u.legend.idx == null && u.data[0].length > 0) u.setLegend({ idx: u.data[0].length - 1 }); }] },
    }, [[], [], [], []], host);
    this.resizer = new ResizeObserver(() => this.uplot.setSize({ width: Math.max(300, host.clientWidth), height: 260 }));
    this.resizer.observe(host);
  }

  /** samples: [{time, windowed, cumulative}] oldest first; markers: [{time, kind}] */
  update(samples, markers) {
    this.markers = markers;
    this.uplot.setData([samples.map((s) => s.time / 1000), samples.map((s) => s.windowed), samples.map((s) => s.cumulative), samples.map((s) => s.events)]);
    if (samples.length > 0 && this.uplot.cursor.idx == null) this.uplot.setLegend({ idx: samples.length - 1 });
  }

  /** points the plot holds (for the test hook and the text summary) */
  get points() {
    return this.uplot.data[0].length;
  }

  destroy() {
    this.resizer.disconnect();
    this.uplot.destroy();
  }
}

export const PLOT_COLORS = COLORS;
