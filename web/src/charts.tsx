// Charts drawn with Chart.js, loaded on demand so that the resident's pages and the widget do
// not download it. Each chart has a text alternative: a label, and the same figures as a table.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

type ChartModule = typeof import("./chartjs");
let chartJs: Promise<ChartModule> | null = null;

function loadChartJs(): Promise<ChartModule> {
  chartJs ??= import("./chartjs");
  return chartJs;
}

export const PALETTE = ["#0d4cd3", "#e0592a", "#1b8a5a", "#8c3fc0", "#b7791f", "#0e7490", "#be123c", "#4b5563"];

export interface Series {
  label: string;
  data: number[];
  color?: string;
}

export interface ChartProps {
  title: string;
  kind: "bar" | "hbar" | "line";
  labels: string[];
  series: Series[];
  /** Formats values in the table and the tooltip. */
  format?: (v: number) => string;
  max?: number;
  height?: number;
  children?: ComponentChildren;
  testId?: string;
}

export function Chart(props: ChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    let chart: { destroy(): void } | null = null;
    let cancelled = false;
    loadChartJs().then((m) => {
      if (cancelled || !canvas.current) return;
      const fmt = props.format ?? ((v: number) => String(v));
      chart = new m.Chart(canvas.current, {
        type: props.kind === "line" ? "line" : "bar",
        data: {
          labels: props.labels,
          datasets: props.series.map((s, i) => ({
            label: s.label,
            data: s.data,
            backgroundColor: s.color ?? PALETTE[i % PALETTE.length],
            borderColor: s.color ?? PALETTE[i % PALETTE.length],
            borderWidth: props.kind === "line" ? 2 : 0,
            pointRadius: props.kind === "line" ? 2 : undefined,
            tension: 0.2,
          })),
        },
        options: {
          indexAxis: props.kind === "hbar" ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            legend: { display: props.series.length > 1, position: "bottom" },
            tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(Number(c.raw))}` } },
          },
          scales: {
            [props.kind === "hbar" ? "x" : "y"]: { beginAtZero: true, max: props.max, ticks: { precision: 0 } },
          },
        },
      });
    });
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [JSON.stringify([props.labels, props.series, props.kind])]);
  const fmt = props.format ?? ((v: number) => String(v));
  const height = props.height ?? Math.max(220, props.kind === "hbar" ? props.labels.length * 28 + 60 : 260);
  return (
    <figure class="chart" data-testid={props.testId}>
      <figcaption>{props.title}</figcaption>
      <div class="chart-canvas" style={{ height: `${height}px` }}>
        <canvas ref={canvas} role="img" aria-label={`${props.title}. Данные — в таблице под графиком.`} />
      </div>
      {props.children}
      <details class="chart-data">
        <summary>Таблица данных</summary>
        <table class="table">
          <thead>
            <tr>
              <th scope="col">Показатель</th>
              {props.series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {props.labels.map((l, i) => (
              <tr key={l + i}>
                <th scope="row">{l}</th>
                {props.series.map((s) => (
                  <td key={s.label}>{fmt(s.data[i] ?? 0)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
