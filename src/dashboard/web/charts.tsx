import {
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, Legend, Tooltip, Filler);

export type Point = { x: number; y: number };

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Dates on a long axis, date and time (UTC) on one shorter than two days. */
const when = (ms: number, spanMs: number) =>
  spanMs < 2 * 86_400_000 ? new Date(ms).toISOString().slice(5, 16).replace('T', ' ') : day(ms);

/**
 * A Chart.js line chart over time (x in epoch ms). The canvas carries a text summary for screen readers; the page
 * shows the same numbers in a table next to it.
 */
export function TimeChart(props: {
  label: string;
  datasets: ChartDataset<'line' | 'scatter', Point[]>[];
  yTitle: string;
  yMax?: number;
  height?: number;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<'line' | 'scatter', Point[]> | null>(null);

  useEffect(() => {
    chart.current = new Chart(canvas.current!, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: {
            type: 'linear',
            ticks: {
              maxTicksLimit: 6,
              callback(v) {
                return when(Number(v), this.max - this.min);
              },
            },
          },
          y: {
            title: { display: true, text: props.yTitle },
            ...(props.yMax ? { min: 0, max: props.yMax } : { grace: '10%' }),
          },
        },
        plugins: {
          legend: { position: 'bottom', labels: { usePointStyle: true } },
          tooltip: { callbacks: { title: (items) => (items[0] ? day(items[0].parsed.x ?? 0) : '') } },
        },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    if (!chart.current) return;
    chart.current.data.datasets = props.datasets;
    chart.current.update('none');
  }, [props.datasets]);

  return (
    <div class="chart" style={{ height: `${props.height ?? 220}px` }}>
      <canvas ref={canvas} role="img" aria-label={props.label} />
    </div>
  );
}
