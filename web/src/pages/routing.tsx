// The admin's routing-rules editor.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, type Schemas } from "../api";
import { loadReference } from "../reference";
import { Button, ErrorBox, Field, focusError, Loading, Page, Success, TextInput, toApiError, useId, useLoad } from "../ui";

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

type Rule = Schemas["RoutingRule"];

/** The routing rules editor: rows of (category, municipality or any, authority), checked here
 * against the reference data and by the API, whose messages are shown beside the row. */
export function RoutingRules() {
  const ref = useLoad(loadReference, []);
  const rules = useLoad(() => api.get("/v1/routing-rules"), []);
  const [rows, setRows] = useState<Rule[] | null>(null);
  const [filter, setFilter] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [page, setPage] = useState(1);
  const errorId = useId("rules-error");
  useEffect(() => {
    const d = rules.data;
    if (d && rows === null) setRows(d.items);
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
      const stored = await api.put("/v1/routing-rules", { body: rows });
      setRows(stored.items);
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
