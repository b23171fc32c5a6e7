// The authorities' ranking on the dashboard: the worst first, only where the figures mean
// something, and every authority in a table that sorts by any column.

import { useState } from "preact/hooks";
import { type Schemas } from "../api";
import { Chart } from "../charts";
import { pct } from "../format";
import { type Reference } from "../reference";

type Rank = Schemas["AuthorityRank"];

/** Answers in the period below which an authority's shares are not ranked: one quick answer must not top the table. */
export const MIN_ANSWERED = 20;
/** How many authorities the chart shows. */
const CHART_ROWS = 15;
/** Labels longer than this are cut at the end, so names that share a long ending stay apart. */
const LABEL_MAX = 34;

export function shortName(name: string): string {
  return name.length <= LABEL_MAX ? name : `${name.slice(0, LABEL_MAX - 1).trimEnd()}…`;
}

type Column = { key: string; label: string; value: (r: Rank) => number | null; show: (r: Rank) => string };

const COLUMNS: Column[] = [
  { key: "answered", label: "Ответов", value: (r) => r.answered, show: (r) => String(r.answered) },
  { key: "on_time", label: "В срок", value: (r) => r.on_time_share ?? null, show: (r) => pct(r.on_time_share) },
  { key: "overdue", label: "Просрочено", value: (r) => r.overdue, show: (r) => String(r.overdue) },
  { key: "rating", label: "Оценки 4–5", value: (r) => r.rating_4_5_share ?? null, show: (r) => pct(r.rating_4_5_share) },
  { key: "hours", label: "Среднее время ответа, ч", value: (r) => r.avg_response_hours ?? null, show: (r) => (r.avg_response_hours == null ? "—" : String(Math.round(r.avg_response_hours))) },
];

/** Worst first: the lowest on-time share, then the most overdue. */
function worstFirst(a: Rank, b: Rank) {
  return (a.on_time_share ?? 1) - (b.on_time_share ?? 1) || b.overdue - a.overdue;
}

export function Ranking(props: { rows: Rank[]; reference: Reference }) {
  const name = (r: Rank) => r.name ?? props.reference.authority(r.authority_id);
  const ranked = props.rows.filter((r) => r.answered >= MIN_ANSWERED).sort(worstFirst);
  const shown = ranked.slice(0, CHART_ROWS);
  const [sort, setSort] = useState<{ key: string; asc: boolean }>({ key: "on_time", asc: true });
  const column = COLUMNS.find((c) => c.key === sort.key);
  const rows = [...props.rows].sort((a, b) => {
    if (column) {
      const [x, y] = [column.value(a), column.value(b)];
      if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
      if (x !== y) return sort.asc ? x - y : y - x;
    } else {
      const c = name(a).localeCompare(name(b), "ru");
      if (c) return sort.asc ? c : -c;
    }
    return worstFirst(a, b);
  });
  const header = (key: string, label: string) => {
    const current = sort.key === key;
    return (
      <th scope="col" aria-sort={current ? (sort.asc ? "ascending" : "descending") : undefined}>
        <button type="button" class="sort" onClick={() => setSort({ key, asc: current ? !sort.asc : true })}>
          {label}
          <span aria-hidden="true">{current ? (sort.asc ? " ▲" : " ▼") : ""}</span>
        </button>
      </th>
    );
  };
  return (
    <section aria-labelledby="ranking-h" class="panel" data-testid="ranking">
      <h2 id="ranking-h">Органы власти</h2>
      {shown.length > 0 ? (
        <Chart
          testId="chart-authorities"
          title={`Меньше всего ответов в срок (органы с ${MIN_ANSWERED} ответами и больше)`}
          kind="hbar"
          max={100}
          format={(v) => `${v}\u00a0%`}
          labels={shown.map((r) => shortName(name(r)))}
          series={[
            { label: "В срок, %", data: shown.map((r) => Math.round((r.on_time_share ?? 0) * 1000) / 10) },
            { label: "Оценки 4–5, %", data: shown.map((r) => Math.round((r.rating_4_5_share ?? 0) * 1000) / 10), color: "#1b8a5a" },
          ]}
        />
      ) : (
        <p data-testid="ranking-few">
          Недостаточно данных для сравнения: ни у одного органа нет {MIN_ANSWERED} ответов за период. Цифры каждого органа — в таблице.
        </p>
      )}
      {rows.length > 0 && (
        <div class="table-scroll">
          <table class="table ranking" data-testid="ranking-table">
            <caption>
              Все органы власти ({rows.length}). Нажмите на заголовок столбца, чтобы отсортировать. «Мало данных» — меньше {MIN_ANSWERED} ответов.
            </caption>
            <thead>
              <tr>
                {header("name", "Орган власти")}
                {COLUMNS.map((c) => header(c.key, c.label))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.authority_id}>
                  <th scope="row">
                    {name(r)}
                    {r.answered < MIN_ANSWERED && <span class="badge badge-few">мало данных</span>}
                  </th>
                  {COLUMNS.map((c) => (
                    <td key={c.key}>{c.show(r)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
