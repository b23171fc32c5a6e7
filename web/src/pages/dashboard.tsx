// The analytics dashboard: headline figures, charts with their tables, Excel and CSV downloads, turnout.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Schemas } from "../api";
import { Chart } from "../charts";
import { fmtDate, fmtDateTime, fmtDay, isoDate, pct, plural, STATUS } from "../format";
import { loadConfig, loadReference, type Reference } from "../reference";
import { hasRole, session } from "../session";
import { Button, ErrorBox, focusError, Loading, Page, Select, TextInput, toApiError, useId, useLoad } from "../ui";
import { Ranking } from "./ranking";

type Group = Schemas["GroupStats"];

/** The dashboard, once the region's time zone is known. */
export function DashboardPage() {
  const cfg = useLoad(loadConfig, []);
  if (cfg.loading) return <Loading />;
  return <Dashboard timeZone={cfg.data?.region?.time_zone} />;
}

/** A local date of the region: analytics count events on the region's calendar days. */
const daysAgo = (n: number, timeZone?: string) => isoDate(new Date(Date.now() - n * 86400000), timeZone);

export function Dashboard(props: { timeZone?: string }) {
  const tz = props.timeZone;
  const [range, setRange] = useState(() => ({ from: daysAgo(29, tz), to: daysAgo(0, tz) }));
  const [draft, setDraft] = useState(range);
  const [rangeError, setRangeError] = useState<ApiError | null>(null);
  const ref = useLoad(loadReference, []);
  const q = range;
  const byCategory = useLoad(() => api.get("/v1/analytics/messages", { query: { ...q, group_by: "category" } }), [q]);
  const byMunicipality = useLoad(() => api.get("/v1/analytics/messages", { query: { ...q, group_by: "municipality" } }), [q]);
  const byDay = useLoad(() => api.get("/v1/analytics/messages", { query: { ...q, group_by: "day" } }), [q]);
  const byStatus = useLoad(() => api.get("/v1/analytics/messages", { query: { ...q, group_by: "status" } }), [q]);
  // Every authority with figures in the range, in one response (`next_cursor` is always null).
  const ranking = useLoad(() => api.get("/v1/analytics/authorities", { query: q }).then((p) => p.items), [q]);
  const [csvBusy, setCsvBusy] = useState(false);
  const [csvError, setCsvError] = useState<ApiError | null>(null);
  const errorId = useId("range-error");
  const r = ref.data;
  const firstError = byCategory.error ?? ranking.error;
  useEffect(() => {
    if (firstError?.status === 422) setRangeError(firstError);
  }, [firstError]);

  const apply = (e: Event) => {
    e.preventDefault();
    setRangeError(null);
    if (!draft.from || !draft.to) {
      setRangeError(new ApiError(422, "client", "Укажите период", "Заполните обе даты.", [{ field: draft.from ? "to" : "from", message: "укажите дату" }]));
      focusError(errorId);
      return;
    }
    setRange({ ...draft });
  };
  const preset = (days: number) => {
    const next = { from: daysAgo(days - 1, tz), to: daysAgo(0, tz) };
    setDraft(next);
    setRangeError(null);
    setRange(next);
  };
  const download = async (format: "csv" | "xlsx", groupBy: "category" | "municipality" | "day") => {
    setCsvBusy(true);
    setCsvError(null);
    try {
      const query = { query: { ...q, group_by: groupBy } };
      const file = format === "xlsx" ? await api.file("/v1/analytics/messages.xlsx", query) : await api.file("/v1/analytics/messages.csv", query);
      const url = URL.createObjectURL(file);
      const a = document.createElement("a");
      a.href = url;
      a.download = `messages-${groupBy}-${q.from}-${q.to}.${format}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      setCsvError(toApiError(err));
    } finally {
      setCsvBusy(false);
    }
  };

  // An official sees what their authority received (`routed`); the region counts what residents submitted.
  const official = hasRole(session.value, "official") && !hasRole(session.value, "admin", "analyst");
  const inflow = (g: Group) => (official ? g.routed : g.submitted);
  const inflowLabel = official ? "Поступило" : "Подано";
  const total = (byCategory.data?.groups ?? []).reduce((n, g) => n + inflow(g), 0);
  const answered = (byCategory.data?.groups ?? []).reduce((n, g) => n + g.answered, 0);
  const overdue = (byCategory.data?.groups ?? []).reduce((n, g) => n + g.overdue, 0);
  const hours = (byCategory.data?.groups ?? []).reduce((acc, g) => (g.avg_response_hours == null ? acc : { n: acc.n + g.answered, sum: acc.sum + g.avg_response_hours * g.answered }), { n: 0, sum: 0 });
  const inProgressNow = (byStatus.data?.groups ?? []).filter((g) => g.key === "in_progress" || g.key === "reopened").reduce((n, g) => n + (g.messages ?? 0), 0);
  const trend = trendOf(byDay.data?.groups ?? [], q);
  const onTime = (byCategory.data?.groups ?? []).reduce((n, g) => n + g.answered_on_time, 0);
  const ratings = (byCategory.data?.groups ?? []).reduce((acc, g) => ({ n: acc.n + g.rating_count, sum: acc.sum + (g.rating_avg ?? 0) * g.rating_count }), { n: 0, sum: 0 });
  const top = (groups: Group[] | undefined, n: number) => [...(groups ?? [])].sort((a, b) => inflow(b) - inflow(a)).slice(0, n);
  const catGroups = top(byCategory.data?.groups, 12);
  const munGroups = top(byMunicipality.data?.groups, 15);
  const authority = official && session.value?.authority && r ? r.authority(session.value.authority) : null;
  return (
    <Page title={official ? `Показатели: ${authority ?? "ваш орган власти"}` : "Аналитика региона"} lead={official ? "Что поступило в ваш орган власти и как на это ответили." : undefined}>
      <form class="filters range" onSubmit={apply} noValidate aria-label="Период">
        <ErrorBox error={rangeError} shown={["from", "to"]} id={errorId} />
        <TextInput label="С" type="date" value={draft.from} onValue={(v) => setDraft({ ...draft, from: v })} error={rangeError?.forField("from")} name="from" />
        <TextInput label="По" type="date" value={draft.to} onValue={(v) => setDraft({ ...draft, to: v })} error={rangeError?.forField("to")} name="to" />
        <div class="field field-button">
          <Button type="submit">Показать</Button>
        </div>
        <div class="field field-button presets" role="group" aria-label="Быстрый выбор">
          <Button type="button" kind="secondary" onClick={() => preset(7)}>
            7 дней
          </Button>
          <Button type="button" kind="secondary" onClick={() => preset(30)}>
            30 дней
          </Button>
          <Button type="button" kind="secondary" onClick={() => preset(365)}>
            Год
          </Button>
        </div>
      </form>
      <p class="meta">
        Период: {fmtDate(q.from)} — {fmtDate(q.to)}
        {byCategory.data && <span data-testid="counted-as-of">, данные на {fmtDateTime(byCategory.data.counted_as_of)}</span>}{" "}
        <Button kind="link" busy={csvBusy} onClick={() => download("xlsx", "category")}>
          Скачать Excel по категориям
        </Button>{" "}
        <Button kind="link" busy={csvBusy} onClick={() => download("xlsx", "municipality")}>
          Excel по муниципалитетам
        </Button>{" "}
        <Button kind="link" busy={csvBusy} onClick={() => download("csv", "category")}>
          CSV для обработки
        </Button>
      </p>
      <ErrorBox error={csvError} />
      {(byCategory.loading || ref.loading) && <Loading />}
      {!rangeError && <ErrorBox error={firstError ?? ref.error} />}
      {r && byCategory.data && (
        <>
          <dl class="kpis" aria-label="Главные показатели">
            <div>
              <dt>{official ? "Поступило сообщений" : "Подано сообщений"}</dt>
              <dd data-testid="kpi-submitted">{total}</dd>
            </div>
            <div>
              <dt>Ответов, включая повторные после переоткрытия</dt>
              <dd data-testid="kpi-answered">{answered}</dd>
            </div>
            <div>
              <dt>В работе сейчас</dt>
              <dd data-testid="kpi-in-progress">{inProgressNow}</dd>
            </div>
            <div>
              <dt>Просрочено за период</dt>
              <dd data-testid="kpi-overdue">{overdue}</dd>
            </div>
            <div>
              <dt>Среднее время ответа</dt>
              <dd data-testid="kpi-hours">{hours.n ? fmtHours(hours.sum / hours.n) : "—"}</dd>
            </div>
            <div>
              <dt>Ответов в срок</dt>
              <dd>{answered ? pct(onTime / answered) : "—"}</dd>
            </div>
            <div>
              <dt>Средняя оценка</dt>
              <dd data-testid="kpi-rating">{ratings.n ? (ratings.sum / ratings.n).toFixed(1) : "—"}</dd>
            </div>
          </dl>
          <div class="charts">
            <Chart
              testId="chart-category"
              title="Сообщения по категориям"
              kind="hbar"
              labels={catGroups.map((g) => r.category(g.key))}
              series={[
                { label: inflowLabel, data: catGroups.map(inflow) },
                { label: "Отвечено", data: catGroups.map((g) => g.answered) },
              ]}
            />
            <Chart
              testId="chart-municipality"
              title="Сообщения по муниципалитетам"
              kind="hbar"
              labels={munGroups.map((g) => r.municipality(g.key))}
              series={[
                { label: inflowLabel, data: munGroups.map(inflow) },
                { label: "Просрочено", data: munGroups.map((g) => g.overdue), color: "#be123c" },
              ]}
            />
            <Chart
              testId="chart-day"
              title={trend.title}
              kind="line"
              labels={trend.points.map((p) => p.label)}
              series={[
                { label: inflowLabel, data: trend.points.map((p) => (official ? p.routed : p.submitted)) },
                { label: "Отвечено", data: trend.points.map((p) => p.answered) },
              ]}
            />
            <Chart
              testId="chart-status"
              title="Текущий статус сообщений периода"
              kind="bar"
              labels={(byStatus.data?.groups ?? []).map((g) => STATUS[g.key] ?? g.key)}
              series={[{ label: "Сообщений", data: (byStatus.data?.groups ?? []).map((g) => g.submitted) }]}
            />
          </div>
          {ranking.data && <Ranking rows={ranking.data} reference={r} />}
          <Turnout reference={r} />
        </>
      )}
    </Page>
  );
}

const fmtHours = (h: number) => (h < 48 ? `${Math.round(h)} ч` : `${Math.round(h / 24)} дн.`);

type Point = { label: string; submitted: number; routed: number; answered: number };

/** Up to 60 days a point a day; up to half a year a point a week (from Monday); beyond, a point a month. */
function trendOf(days: Group[], q: { from: string; to: string }): { title: string; points: Point[] } {
  const span = (Date.parse(`${q.to}T00:00:00Z`) - Date.parse(`${q.from}T00:00:00Z`)) / 86400000 + 1;
  const point = (label: string, g: Group): Point => ({ label, submitted: g.submitted, routed: g.routed, answered: g.answered });
  if (!(span > 60)) return { title: "Динамика по дням", points: days.map((g) => point(fmtDay(g.key), g)) };
  const weekly = span <= 183;
  const buckets = new Map<string, Point>();
  for (const g of days) {
    const d = new Date(`${g.key}T00:00:00Z`);
    if (isNaN(d.getTime())) continue;
    let key: string;
    let label: string;
    if (weekly) {
      d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      key = d.toISOString().slice(0, 10);
      label = `с ${fmtDay(key)}`;
    } else {
      key = g.key.slice(0, 7);
      label = MONTH.format(d);
    }
    const b = buckets.get(key) ?? { label, submitted: 0, routed: 0, answered: 0 };
    b.submitted += g.submitted;
    b.routed += g.routed;
    b.answered += g.answered;
    buckets.set(key, b);
  }
  const points = [...buckets.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, p]) => p);
  return { title: weekly ? "Динамика по неделям" : "Динамика по месяцам", points };
}

const MONTH = new Intl.DateTimeFormat("ru-RU", { month: "short", year: "numeric", timeZone: "UTC" });

/** A turnout share as a percentage, with two significant digits when it is under one per cent. */
function turnoutPct(share: number): string {
  const v = share * 100;
  const text = v >= 1 ? v.toLocaleString("ru-RU", { maximumFractionDigits: 1 }) : v.toLocaleString("ru-RU", { maximumSignificantDigits: 2 });
  return `${text}\u00a0%`;
}

function Turnout(props: { reference: Reference }) {
  const polls = useLoad(async () => {
    const [open, closed] = await Promise.all([
      api.get("/v1/polls", { query: { status: "open", limit: 50 } }),
      api.get("/v1/polls", { query: { status: "closed", limit: 50 } }),
    ]);
    return [...open.items, ...closed.items];
  }, []);
  const [pollId, setPollId] = useState("");
  const selected = pollId || polls.data?.[0]?.id || "";
  const data = useLoad(
    () => (selected ? api.get("/v1/analytics/polls/{id}", { path: { id: selected } }) : Promise.resolve(null)),
    [selected],
  );
  if (polls.error?.status === 403) return null;
  // Groups under ten ballots, and those hidden with them, come as "<10": they get no bar.
  const turnout = data.data?.turnout ?? [];
  const rows = turnout
    .flatMap((t) => (typeof t.ballots === "number" ? [{ ...t, ballots: t.ballots }] : []))
    .sort((a, b) => b.ballots - a.ballots);
  const hidden = turnout.filter((t) => typeof t.ballots !== "number");
  return (
    <section aria-labelledby="turnout-h" class="panel">
      <h2 id="turnout-h">Явка на голосованиях</h2>
      <ErrorBox error={polls.error ?? data.error} />
      {polls.data && polls.data.length === 0 && <p>Голосований пока нет.</p>}
      {polls.data && polls.data.length > 0 && (
        <>
          <Select label="Голосование" value={selected} onValue={setPollId} options={polls.data.map((p) => [p.id, p.title])} />
          {turnout.length === 0 && <p>Бюллетеней пока нет.</p>}
          {data.data?.turnout_share != null && data.data.eligible != null && (
            <p class="headline-share" data-testid="turnout-share">
              Явка: <strong>{turnoutPct(data.data.turnout_share)}</strong> — {data.data.total_ballots.toLocaleString("ru-RU")} {plural(data.data.total_ballots, "бюллетень", "бюллетеня", "бюллетеней")} на{" "}
              {data.data.eligible.toLocaleString("ru-RU")} взрослых жителей, которые могли голосовать.
            </p>
          )}
          {rows.length > 0 && (
            <Chart
              testId="chart-turnout"
              title="Бюллетени по муниципалитетам"
              kind="hbar"
              labels={rows.map((t) => props.reference.municipality(t.municipality_id))}
              series={[{ label: "Бюллетеней", data: rows.map((t) => t.ballots) }]}
            >
              {rows.some((t) => t.share != null) && (
                <p class="meta">
                  Доля взрослых жителей, которые проголосовали:{" "}
                  {rows.map((t) => `${props.reference.municipality(t.municipality_id)} — ${t.share != null ? turnoutPct(t.share) : "нет данных"}`).join("; ")}.
                </p>
              )}
            </Chart>
          )}
          {hidden.length > 0 && (
            <p data-testid="turnout-hidden">
              Число бюллетеней скрыто, чтобы сохранить тайну голосования (меньше 10 бюллетеней или по ним можно
              вычислить такую группу): {hidden.map((t) => props.reference.municipality(t.municipality_id)).join(", ")}.
            </p>
          )}
        </>
      )}
    </section>
  );
}
