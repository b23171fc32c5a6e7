import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, type Page as ListPage } from "../api";
import { Chart } from "../charts";
import { fmtDate, fmtDay, isoDate, pct, STATUS, toZonedInput, zoneOffset, zonedInputToRfc3339 } from "../format";
import { loadConfig, loadedConfig, loadReference, type Reference } from "../reference";
import { navigate } from "../router";
import { hasRole, session } from "../session";
import { Button, ErrorBox, Field, focusError, Loading, Page, Select, Success, TextArea, TextInput, toApiError, useId, useFormRequest, useLoad } from "../ui";
import type { Poll } from "./polls";

interface Group {
  key: string;
  submitted: number;
  routed: number;
  answered: number;
  answered_on_time: number;
  overdue: number;
  rejected: number;
  closed: number;
  reopened: number;
  avg_response_hours: number | null;
  rating_avg: number | null;
  rating_count: number;
  rating_4_5_share: number | null;
}

interface AuthorityRow {
  authority_id: string;
  answered: number;
  on_time_share: number | null;
  avg_response_hours: number | null;
  rating_avg: number | null;
  rating_4_5_share: number | null;
}

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
  const byCategory = useLoad(() => api.get<{ groups: Group[] }>("/v1/analytics/messages", { ...q, group_by: "category" }), [q]);
  const byMunicipality = useLoad(() => api.get<{ groups: Group[] }>("/v1/analytics/messages", { ...q, group_by: "municipality" }), [q]);
  const byDay = useLoad(() => api.get<{ groups: Group[] }>("/v1/analytics/messages", { ...q, group_by: "day" }), [q]);
  const byStatus = useLoad(() => api.get<{ groups: Group[] }>("/v1/analytics/messages", { ...q, group_by: "status" }), [q]);
  const ranking = useLoad(() => api.get<{ items: AuthorityRow[] }>("/v1/analytics/authorities", q), [q]);
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
  const downloadCsv = async (groupBy: string) => {
    setCsvBusy(true);
    setCsvError(null);
    try {
      const text = await api.text("/v1/analytics/messages.csv", { ...q, group_by: groupBy });
      const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `messages-${groupBy}-${q.from}-${q.to}.csv`;
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

  const total = (byStatus.data?.groups ?? []).reduce((n, g) => n + g.submitted, 0);
  const answered = (byCategory.data?.groups ?? []).reduce((n, g) => n + g.answered, 0);
  const onTime = (byCategory.data?.groups ?? []).reduce((n, g) => n + g.answered_on_time, 0);
  const ratings = (byCategory.data?.groups ?? []).reduce((acc, g) => ({ n: acc.n + g.rating_count, sum: acc.sum + (g.rating_avg ?? 0) * g.rating_count }), { n: 0, sum: 0 });
  const top = (groups: Group[] | undefined, n: number) => [...(groups ?? [])].sort((a, b) => b.submitted - a.submitted).slice(0, n);
  const catGroups = top(byCategory.data?.groups, 12);
  const munGroups = top(byMunicipality.data?.groups, 15);
  const rank = (ranking.data?.items ?? []).slice(0, 15);
  return (
    <Page title="Аналитика региона" lead={hasRole(session.value, "official") && !hasRole(session.value, "admin", "analyst") ? "Показатели вашего органа власти." : undefined}>
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
        Период: {fmtDate(q.from)} — {fmtDate(q.to)}{" "}
        <Button kind="link" busy={csvBusy} onClick={() => downloadCsv("category")}>
          Скачать CSV по категориям
        </Button>{" "}
        <Button kind="link" busy={csvBusy} onClick={() => downloadCsv("municipality")}>
          CSV по муниципалитетам
        </Button>{" "}
        <Button kind="link" busy={csvBusy} onClick={() => downloadCsv("day")}>
          CSV по дням
        </Button>
      </p>
      <ErrorBox error={csvError} />
      {(byCategory.loading || ref.loading) && <Loading />}
      {!rangeError && <ErrorBox error={firstError ?? ref.error} />}
      {r && byCategory.data && (
        <>
          <dl class="kpis" aria-label="Главные показатели">
            <div>
              <dt>Подано сообщений</dt>
              <dd data-testid="kpi-submitted">{total}</dd>
            </div>
            <div>
              <dt>Дано ответов</dt>
              <dd data-testid="kpi-answered">{answered}</dd>
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
                { label: "Подано", data: catGroups.map((g) => g.submitted) },
                { label: "Отвечено", data: catGroups.map((g) => g.answered) },
              ]}
            />
            <Chart
              testId="chart-municipality"
              title="Сообщения по муниципалитетам"
              kind="hbar"
              labels={munGroups.map((g) => r.municipality(g.key))}
              series={[
                { label: "Подано", data: munGroups.map((g) => g.submitted) },
                { label: "Просрочено", data: munGroups.map((g) => g.overdue), color: "#be123c" },
              ]}
            />
            <Chart
              testId="chart-day"
              title="Динамика по дням"
              kind="line"
              labels={(byDay.data?.groups ?? []).map((g) => fmtDay(g.key))}
              series={[
                { label: "Подано", data: (byDay.data?.groups ?? []).map((g) => g.submitted) },
                { label: "Отвечено", data: (byDay.data?.groups ?? []).map((g) => g.answered) },
              ]}
            />
            <Chart
              testId="chart-status"
              title="Текущий статус сообщений периода"
              kind="bar"
              labels={(byStatus.data?.groups ?? []).map((g) => STATUS[g.key] ?? g.key)}
              series={[{ label: "Сообщений", data: (byStatus.data?.groups ?? []).map((g) => g.submitted) }]}
            />
            <Chart
              testId="chart-authorities"
              title="Органы власти: доля ответов в срок и доля оценок 4–5"
              kind="hbar"
              max={100}
              format={(v) => `${v}\u00a0%`}
              labels={rank.map((a) => r.authority(a.authority_id))}
              series={[
                { label: "В срок, %", data: rank.map((a) => Math.round((a.on_time_share ?? 0) * 1000) / 10) },
                { label: "Оценки 4–5, %", data: rank.map((a) => Math.round((a.rating_4_5_share ?? 0) * 1000) / 10), color: "#1b8a5a" },
              ]}
            />
          </div>
          <Turnout reference={r} />
        </>
      )}
    </Page>
  );
}

function Turnout(props: { reference: Reference }) {
  const polls = useLoad(async () => {
    const [open, closed] = await Promise.all([
      api.get<ListPage<Poll>>("/v1/polls", { status: "open", limit: 50 }),
      api.get<ListPage<Poll>>("/v1/polls", { status: "closed", limit: 50 }),
    ]);
    return [...open.items, ...closed.items];
  }, []);
  const [pollId, setPollId] = useState("");
  const selected = pollId || polls.data?.[0]?.id || "";
  const data = useLoad(
    () => (selected ? api.get<{ turnout: { municipality_id: string; ballots: number }[] }>(`/v1/analytics/polls/${selected}`) : Promise.resolve(null)),
    [selected],
  );
  if (polls.error?.status === 403) return null;
  const rows = [...(data.data?.turnout ?? [])].sort((a, b) => b.ballots - a.ballots);
  return (
    <section aria-labelledby="turnout-h" class="panel">
      <h2 id="turnout-h">Явка на голосованиях</h2>
      <ErrorBox error={polls.error ?? data.error} />
      {polls.data && polls.data.length === 0 && <p>Голосований пока нет.</p>}
      {polls.data && polls.data.length > 0 && (
        <>
          <Select label="Голосование" value={selected} onValue={setPollId} options={polls.data.map((p) => [p.id, p.title])} />
          {rows.length === 0 ? (
            <p>Бюллетеней пока нет.</p>
          ) : (
            <Chart
              testId="chart-turnout"
              title="Бюллетени по муниципалитетам"
              kind="hbar"
              labels={rows.map((t) => props.reference.municipality(t.municipality_id))}
              series={[{ label: "Бюллетеней", data: rows.map((t) => t.ballots) }]}
            />
          )}
        </>
      )}
    </section>
  );
}

interface QuestionDraft {
  text: string;
  kind: "single" | "multi" | "text";
  options: string;
  max_choices: string;
  required: boolean;
}

const newQuestion = (): QuestionDraft => ({ text: "", kind: "single", options: "", max_choices: "", required: true });

/** Poll times are entered in the region's time zone, as every time is shown. */
const regionZone = () => loadedConfig?.region?.time_zone;
const inputAt = (msFromNow: number) => toZonedInput(new Date(Date.now() + msFromNow), regionZone()).slice(0, 16);

/** The audience: municipalities (none = the whole region) and a minimum age. */
function AudienceFields(props: { reference: Reference; municipalities: string[]; setMunicipalities: (m: string[]) => void; minAge: string; setMinAge: (v: string) => void; error?: ApiError | null }) {
  const [filter, setFilter] = useState("");
  const q = filter.trim().toLowerCase();
  return (
    <fieldset class="field">
      <legend>Кто участвует</legend>
      {props.error?.forField("audience") && <div class="field-error">{props.error.forField("audience")}</div>}
      <TextInput label="Найти муниципалитет" type="search" value={filter} onValue={setFilter} autoComplete="off" hint="Если ни один не отмечен — весь регион." />
      <div class="checklist">
        {props.reference.municipalities
          .filter((m) => !q || m.name.toLowerCase().includes(q) || props.municipalities.includes(m.id))
          .map((m) => (
            <label class="checkbox" key={m.id}>
              <input
                type="checkbox"
                checked={props.municipalities.includes(m.id)}
                onChange={(e) => props.setMunicipalities((e.target as HTMLInputElement).checked ? [...props.municipalities, m.id] : props.municipalities.filter((x) => x !== m.id))}
              />
              {m.name}
            </label>
          ))}
      </div>
      <TextInput label="Минимальный возраст" type="number" min="0" max="120" inputMode="numeric" value={props.minAge} onValue={props.setMinAge} error={props.error?.forField("audience.min_age")} />
    </fieldset>
  );
}

function audienceOf(municipalities: string[], minAge: string) {
  const a: Record<string, unknown> = {};
  if (municipalities.length) a.municipalities = municipalities;
  if (minAge.trim()) a.min_age = Number(minAge);
  return a;
}

export function NewPoll(props: { discussion?: boolean }) {
  const ref = useLoad(loadReference, []);
  const discussion = !!props.discussion;
  const [kind, setKind] = useState<"vote" | "survey">("vote");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [questions, setQuestions] = useState<QuestionDraft[]>([newQuestion()]);
  const [municipalities, setMunicipalities] = useState<string[]>([]);
  const [minAge, setMinAge] = useState("");
  const [openNow, setOpenNow] = useState(true);
  const [opensAt, setOpensAt] = useState(() => inputAt(3600 * 1000));
  const [closesAt, setClosesAt] = useState(() => inputAt(7 * 24 * 3600 * 1000));
  const [results, setResults] = useState<"live" | "after_close">("after_close");
  const { busy, error, setError, errorId, run } = useFormRequest("poll-error");
  const setQ = (i: number, patch: Partial<QuestionDraft>) => setQuestions((qs) => qs.map((q, j) => (j === i ? { ...q, ...patch } : q)));
  const questionList = kind === "vote" ? questions.slice(0, 1) : questions;

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body: Record<string, unknown> = {
      title: title.trim(),
      audience: audienceOf(municipalities, minAge),
      opens_at: openNow ? new Date().toISOString() : zonedInputToRfc3339(opensAt, regionZone()),
      closes_at: zonedInputToRfc3339(closesAt, regionZone()),
    };
    if (discussion) {
      body.description = description.trim();
    } else {
      if (description.trim()) body.description = description.trim();
      body.kind = kind;
      body.results = results;
      body.questions = questionList.map((q) => {
        const out: Record<string, unknown> = { text: q.text.trim(), kind: kind === "vote" ? "single" : q.kind };
        if (out.kind !== "text") out.options = q.options.split("\n").map((o) => o.trim()).filter(Boolean);
        if (out.kind === "multi" && q.max_choices.trim()) out.max_choices = Number(q.max_choices);
        if (!q.required) out.required = false;
        return out;
      });
    }
    await run(async () => {
      const created = await api.post<Poll>(discussion ? "/v1/discussions" : "/v1/polls", body);
      navigate(discussion ? `/discussions/${created.id}` : `/polls/${created.id}?created=1`);
    });
  };
  const shown = ["title", "description", "opens_at", "closes_at", "questions", "audience", "results", "kind"];
  return (
    <Page title={discussion ? "Новое обсуждение" : "Новое голосование или опрос"}>
      {ref.loading && <Loading />}
      <ErrorBox error={ref.error} />
      {ref.data && (
        <form class="form" onSubmit={submit} noValidate>
          <ErrorBox error={error} shown={shown} id={errorId} />
          {!discussion && (
            <fieldset class="field">
              <legend>Вид</legend>
              <label class="radio">
                <input type="radio" name="kind" checked={kind === "vote"} onChange={() => setKind("vote")} />
                Голосование (один вопрос, один ответ)
              </label>
              <label class="radio">
                <input type="radio" name="kind" checked={kind === "survey"} onChange={() => setKind("survey")} />
                Опрос (до 10 вопросов)
              </label>
            </fieldset>
          )}
          <TextInput label="Название" value={title} onValue={setTitle} error={error?.forField("title")} name="title" maxLength={300} />
          <TextArea label={discussion ? "Описание" : "Описание (необязательно)"} value={description} onValue={setDescription} max={5000} rows={3} error={error?.forField("description")} name="description" />
          {!discussion &&
            questionList.map((q, i) => (
              <fieldset class="field question" key={i}>
                <legend>Вопрос {i + 1}</legend>
                {error?.forField(`questions[${i}]`) && <div class="field-error">{error.forField(`questions[${i}]`)}</div>}
                <TextInput label="Текст вопроса" value={q.text} onValue={(v) => setQ(i, { text: v })} error={error?.forField(`questions[${i}].text`)} name={`q${i}-text`} />
                {kind === "survey" && (
                  <Select
                    label="Тип ответа"
                    value={q.kind}
                    onValue={(v) => setQ(i, { kind: v as QuestionDraft["kind"] })}
                    options={[
                      ["single", "Один вариант"],
                      ["multi", "Несколько вариантов"],
                      ["text", "Свободный ответ"],
                    ]}
                  />
                )}
                {(kind === "vote" || q.kind !== "text") && (
                  <TextArea label="Варианты ответа (каждый с новой строки, от 2 до 10)" value={q.options} onValue={(v) => setQ(i, { options: v })} rows={4} error={error?.forField(`questions[${i}].options`)} name={`q${i}-options`} />
                )}
                {kind === "survey" && q.kind === "multi" && (
                  <TextInput label="Сколько вариантов можно выбрать" type="number" min="1" value={q.max_choices} onValue={(v) => setQ(i, { max_choices: v })} error={error?.forField(`questions[${i}].max_choices`)} />
                )}
                {kind === "survey" && (
                  <>
                    <label class="checkbox">
                      <input type="checkbox" checked={q.required} onChange={(e) => setQ(i, { required: (e.target as HTMLInputElement).checked })} />
                      Обязательный вопрос
                    </label>
                    {questions.length > 1 && (
                      <Button type="button" kind="link" onClick={() => setQuestions((qs) => qs.filter((_, j) => j !== i))}>
                        Удалить вопрос {i + 1}
                      </Button>
                    )}
                  </>
                )}
              </fieldset>
            ))}
          {!discussion && kind === "survey" && questions.length < 10 && (
            <p>
              <Button type="button" kind="secondary" onClick={() => setQuestions((qs) => [...qs, newQuestion()])}>
                Добавить вопрос
              </Button>
            </p>
          )}
          {error?.forField("questions") && !questionList.some((_, i) => error.forField(`questions[${i}]`)) && <div class="field-error">{error.forField("questions")}</div>}
          <AudienceFields reference={ref.data} municipalities={municipalities} setMunicipalities={setMunicipalities} minAge={minAge} setMinAge={setMinAge} error={error} />
          <fieldset class="field">
            <legend>Сроки</legend>
            <p class="hint">
              Время — по часовому поясу региона{loadedConfig?.region?.name ? ` (${loadedConfig.region.name}` : " ("}, UTC
              {zoneOffset(regionZone() ?? Intl.DateTimeFormat().resolvedOptions().timeZone, new Date())}).
            </p>
            <label class="checkbox">
              <input type="checkbox" checked={openNow} onChange={(e) => setOpenNow((e.target as HTMLInputElement).checked)} />
              Открыть сразу
            </label>
            <div class="grid-2">
              {!openNow && <TextInput label="Начало" type="datetime-local" step="1" value={opensAt} onValue={setOpensAt} error={error?.forField("opens_at")} name="opens_at" />}
              <TextInput label="Окончание" type="datetime-local" step="1" value={closesAt} onValue={setClosesAt} error={error?.forField("closes_at")} name="closes_at" />
            </div>
          </fieldset>
          {!discussion && (
            <fieldset class="field">
              <legend>Итоги</legend>
              <label class="radio">
                <input type="radio" name="results" checked={results === "after_close"} onChange={() => setResults("after_close")} />
                Публиковать после завершения
              </label>
              <label class="radio">
                <input type="radio" name="results" checked={results === "live"} onChange={() => setResults("live")} />
                Показывать во время голосования
              </label>
            </fieldset>
          )}
          <div class="actions">
            <Button type="submit" busy={busy}>
              {discussion ? "Создать обсуждение" : "Создать"}
            </Button>
          </div>
        </form>
      )}
    </Page>
  );
}

/** A rule's problem in Russian. The API's reference-data check names the entry and speaks the
 * region file's language; the known phrasings are translated, anything else is shown as sent. */
export function ruleProblem(field: string, message: string): string {
  const id = (m: RegExpMatchArray | null) => (m ? `«${m[1]}»` : "");
  const known: [RegExp, (m: RegExpMatchArray) => string][] = [
    [/unknown category_id "([^"]*)"/, (m) => `неизвестная категория ${id(m)}`],
    [/unknown municipality_id "([^"]*)"/, (m) => `неизвестный муниципалитет ${id(m)}`],
    [/unknown authority_id "([^"]*)"/, (m) => `неизвестный орган власти ${id(m)}`],
    [/duplicates an earlier rule/, () => "повторяет более раннее правило для той же категории и муниципалитета"],
  ];
  for (const [re, text] of known) {
    const m = message.match(re);
    if (m) return text(m);
  }
  const column: Record<string, string> = { category_id: "категория", municipality_id: "муниципалитет", authority_id: "орган власти" };
  const name = field.match(/\]\.(\w+)$/)?.[1];
  return name && column[name] && !message.includes(column[name]) ? `${column[name]}: ${message}` : message;
}

const RULES_PER_PAGE = 20;

interface Rule {
  category_id: string;
  municipality_id: string | null;
  authority_id: string;
}

/** The routing rules editor: rows of (category, municipality or any, authority), checked here
 * against the reference data and by the API, whose messages are shown beside the row. */
export function RoutingRules() {
  const ref = useLoad(loadReference, []);
  const rules = useLoad(() => api.get<Rule[] | ListPage<Rule>>("/v1/routing-rules"), []);
  const [rows, setRows] = useState<Rule[] | null>(null);
  const [filter, setFilter] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [page, setPage] = useState(1);
  const errorId = useId("rules-error");
  useEffect(() => {
    const d = rules.data;
    if (d && rows === null) setRows(Array.isArray(d) ? d : d.items);
  }, [rules.data]);
  const r = ref.data;
  const rowErrors = useMemo(() => {
    const map = new Map<number, string[]>();
    for (const e of error?.errors ?? []) {
      const m = e.field.match(/\[(\d+)\]/);
      if (m) map.set(Number(m[1]), [...(map.get(Number(m[1])) ?? []), ruleProblem(e.field, e.message)]);
    }
    return map;
  }, [error]);
  const localCheck = (list: Rule[]): ApiError | null => {
    if (!r) return null;
    const problems: { field: string; message: string }[] = [];
    const seen = new Map<string, number>();
    list.forEach((x, i) => {
      if (!r.categories.some((c) => c.id === x.category_id)) problems.push({ field: `[${i}].category_id`, message: "выберите категорию" });
      if (!r.authorities.some((a) => a.id === x.authority_id)) problems.push({ field: `[${i}].authority_id`, message: "выберите орган власти" });
      const key = `${x.category_id}|${x.municipality_id ?? ""}`;
      if (seen.has(key)) problems.push({ field: `[${i}].category_id`, message: `повторяет правило № ${(seen.get(key) ?? 0) + 1}` });
      else seen.set(key, i);
    });
    return problems.length ? new ApiError(422, "client", "Проверьте правила", "Некоторые правила заполнены неверно.", problems) : null;
  };
  const save = async (e: Event) => {
    e.preventDefault();
    if (!rows) return;
    setSaved(false);
    const local = localCheck(rows);
    setError(local);
    if (local) {
      showFirstProblem(local);
      return;
    }
    setBusy(true);
    try {
      const stored = await api.put<Rule[] | ListPage<Rule>>("/v1/routing-rules", rows);
      setRows(Array.isArray(stored) ? stored : stored.items);
      setSaved(true);
    } catch (err) {
      const apiError = toApiError(err);
      setError(apiError);
      showFirstProblem(apiError);
    } finally {
      setBusy(false);
    }
  };
  /** Turns to the page of the first rule in error (the search is cleared so that it is shown). */
  const showFirstProblem = (e: ApiError) => {
    const first = e.errors.map((x) => Number(x.field.match(/\[(\d+)\]/)?.[1] ?? NaN)).filter((n) => !isNaN(n)).sort((a, b) => a - b)[0];
    if (first !== undefined) {
      setFilter("");
      setPage(Math.floor(first / RULES_PER_PAGE) + 1);
    }
    focusError(errorId);
  };
  const set = (i: number, patch: Partial<Rule>) => setRows((list) => (list ?? []).map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const q = filter.trim().toLowerCase();
  const visible = (rows ?? [])
    .map((x, i) => ({ x, i }))
    .filter(({ x }) => !q || !r || [r.category(x.category_id), r.municipality(x.municipality_id), r.authority(x.authority_id)].some((s) => s.toLowerCase().includes(q)));
  const pages = Math.max(1, Math.ceil(visible.length / RULES_PER_PAGE));
  const current = Math.min(page, pages);
  const shownRows = visible.slice((current - 1) * RULES_PER_PAGE, current * RULES_PER_PAGE);
  const badRows = [...rowErrors.keys()].sort((a, b) => a - b);
  const categories: [string, string][] = (r?.categories ?? []).map((c) => [c.id, c.parent_id ? `— ${c.name}` : c.name]);
  const municipalities: [string, string][] = (r?.municipalities ?? []).map((m) => [m.id, m.name]);
  const authorities: [string, string][] = (r?.authorities ?? []).map((a) => [a.id, a.name]);
  return (
    <Page title="Правила маршрутизации" lead="Сообщение направляется по самому точному правилу; без правила — в ЦУР для ручного разбора.">
      {(ref.loading || rules.loading) && <Loading />}
      <ErrorBox error={ref.error ?? rules.error} />
      {r && rows && (
        <form class="form" onSubmit={save} noValidate>
          <ErrorBox error={error} shown={(error?.errors ?? []).filter((e) => /\[\d+\]/.test(e.field)).map((e) => e.field)} id={errorId} />
          {saved && <Success>Правила сохранены.</Success>}
          <TextInput
            label="Найти правило"
            type="search"
            value={filter}
            onValue={(v) => {
              setFilter(v);
              setPage(1);
            }}
            autoComplete="off"
          />
          {badRows.length > 0 && (
            <p class="field-error">
              Ошибки в правилах:{" "}
              {badRows.map((i, k) => (
                <span key={i}>
                  {k > 0 && ", "}
                  <Button
                    type="button"
                    kind="link"
                    onClick={() => {
                      setFilter("");
                      setPage(Math.floor(i / RULES_PER_PAGE) + 1);
                    }}
                  >
                    № {i + 1}
                  </Button>
                </span>
              ))}
            </p>
          )}
          <table class="table rules">
            <caption>
              Правил: {rows.length}
              {q ? `, найдено: ${visible.length}` : ""}
            </caption>
            <thead>
              <tr>
                <th scope="col">№</th>
                <th scope="col">Категория</th>
                <th scope="col">Муниципалитет</th>
                <th scope="col">Орган власти</th>
                <th scope="col">
                  <span class="visually-hidden">Действия</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shownRows.map(({ x, i }) => {
                const errs = rowErrors.get(i);
                return (
                  <tr key={i} class={errs ? "row-invalid" : ""}>
                    <th scope="row">{i + 1}</th>
                    <td>
                      <RuleSelect label={`Категория правила ${i + 1}`} value={x.category_id} options={categories} onValue={(v) => set(i, { category_id: v })} invalid={!!errs} />
                      {errs && (
                        <div class="field-error" role="alert">
                          {errs.join("; ")}
                        </div>
                      )}
                    </td>
                    <td>
                      <RuleSelect label={`Муниципалитет правила ${i + 1}`} value={x.municipality_id ?? ""} options={municipalities} placeholder="Любой" onValue={(v) => set(i, { municipality_id: v || null })} />
                    </td>
                    <td>
                      <RuleSelect label={`Орган власти правила ${i + 1}`} value={x.authority_id} options={authorities} onValue={(v) => set(i, { authority_id: v })} invalid={!!errs} />
                    </td>
                    <td>
                      <Button type="button" kind="link" onClick={() => setRows((list) => (list ?? []).filter((_, j) => j !== i))} aria-label={`Удалить правило ${i + 1}`}>
                        Удалить
                      </Button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {pages > 1 && (
            <nav class="pager" aria-label="Страницы правил">
              <Button type="button" kind="secondary" onClick={() => setPage(current - 1)} disabled={current <= 1}>
                ← Назад
              </Button>
              <span>
                Страница {current} из {pages}
              </span>
              <Button type="button" kind="secondary" onClick={() => setPage(current + 1)} disabled={current >= pages}>
                Далее →
              </Button>
            </nav>
          )}
          <div class="actions">
            <Button
              type="button"
              kind="secondary"
              onClick={() => {
                setFilter("");
                setRows((list) => [...(list ?? []), { category_id: "", municipality_id: null, authority_id: "" }]);
                setPage(Math.floor((rows?.length ?? 0) / RULES_PER_PAGE) + 1);
              }}
            >
              Добавить правило
            </Button>
            <Button type="submit" busy={busy}>
              Сохранить правила
            </Button>
          </div>
        </form>
      )}
    </Page>
  );
}

function RuleSelect(p: { label: string; value: string; options: [string, string][]; onValue: (v: string) => void; placeholder?: string; invalid?: boolean }) {
  return (
    <Field label={p.label} class="compact">
      {({ id }) => (
        <select id={id} value={p.value} aria-invalid={p.invalid || undefined} onChange={(e) => p.onValue((e.target as HTMLSelectElement).value)}>
          <option value="">{p.placeholder ?? "Выберите…"}</option>
          {p.options.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
