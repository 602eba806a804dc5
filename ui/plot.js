// The learner's quality over time as a uPlot line plot (uPlot is loaded by index.html as the
// global `uPlot`), with drift and warning events marked as vertical lines.

const COLORS = { windowed: '#1f6feb', cumulative: '#8b949e', drift: '#cf222e', warning: '#bf8700' };

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
    const fixedRange = metric === 'accuracy';
    const pct = (v) => (v == null ? '–' : v.toFixed(3));
    this.uplot = new uPlot({
      width: Math.max(300, host.clientWidth),
      height: 240,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: fixedRange ? { range: [0, 1] } : { auto: true } },
      axes: [
        { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' } },
        { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d0d7de' }, size: 50, values: (u, vals) => vals.map((v) => v.toFixed(2)) },
      ],
      series: [
        {},
        { label: `windowed ${metric}`, stroke: COLORS.windowed, width: 2, value: (u, v) => pct(v), points: { show: false } },
        { label: `cumulative ${metric}`, stroke: COLORS.cumulative, width: 1.5, dash: [6, 4], value: (u, v) => pct(v), points: { show: false } },
      ],
      plugins: [markersPlugin(() => this.markers)],
    }, [[], [], []], host);
    this.resizer = new ResizeObserver(() => this.uplot.setSize({ width: Math.max(300, host.clientWidth), height: 240 }));
    this.resizer.observe(host);
  }

  /** samples: [{time, windowed, cumulative}] oldest first; markers: [{time, kind}] */
  update(samples, markers) {
    this.markers = markers;
    this.uplot.setData([samples.map((s) => s.time / 1000), samples.map((s) => s.windowed), samples.map((s) => s.cumulative)]);
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
