// The admin's form for a new vote, survey or discussion.

import { useState } from "preact/hooks";
import { api, ApiError, type Schemas } from "../api";
import { toZonedInput, zoneOffset, zonedInputToRfc3339 } from "../format";
import { loadedConfig, loadReference, type Reference } from "../reference";
import { navigate } from "../router";
import { Button, ErrorBox, Loading, Page, Select, TextArea, TextInput, useFormRequest, useLoad } from "../ui";

interface QuestionDraft {
  text: string;
  kind: Schemas["QuestionKind"];
  options: string;
  max_choices: string;
  required: boolean;
}

/** The error about question `i` as a whole; those about its fields are shown beside each field. */
const questionError = (error: ApiError | null, i: number) => error?.errors.find((e) => e.field === `questions[${i}]`)?.message;

const newQuestion = (): QuestionDraft => ({ text: "", kind: "single", options: "", max_choices: "", required: true });

/** Poll times are entered in the region's time zone, as every time is shown. */
const regionZone = () => loadedConfig?.region?.time_zone;
const inputAt = (msFromNow: number) => toZonedInput(new Date(Date.now() + msFromNow), regionZone()).slice(0, 16);
/** The start of the next full hour, region time. */
const nextHour = () => inputAt(3600 * 1000).slice(0, 14) + "00";
/** The end of the day `days` from today, region time: a poll closes at 23:59, not at the minute it was made. */
const dayEndIn = (days: number) => inputAt(days * 24 * 3600 * 1000).slice(0, 11) + "23:59";

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

/** A `datetime-local` value as people read it: «9 декабря 2026 г., 23:59». */
const fmtInput = (v: string) => {
  const m = v.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
  if (!m) return v || "—";
  const day = new Intl.DateTimeFormat("ru-RU", { dateStyle: "long", timeZone: "UTC" }).format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])));
  return `${day}, ${m[4]}:${m[5]}`;
};

/** The ballot as residents will see it, from what the form holds now; nothing is sent. */
function PollPreview(props: { title: string; description: string; kind: string; questions: QuestionDraft[]; opens: string; closes: string; audience: string }) {
  return (
    <section id="poll-preview" class="panel preview" aria-labelledby="preview-h" data-testid="poll-preview">
      <h2 id="preview-h">Так жители увидят {props.kind === "discussion" ? "обсуждение" : "бюллетень"}</h2>
      <h3>{props.title.trim() || "Без названия"}</h3>
      {props.description.trim() && <p>{props.description.trim()}</p>}
      <p class="meta">
        Начало: {props.opens}. Окончание: {props.closes} (время региона). Участвуют: {props.audience}.
      </p>
      {props.questions.map((q, i) => {
        const kind = props.kind === "vote" ? "single" : q.kind;
        const options = q.options.split("\n").map((o) => o.trim()).filter(Boolean);
        return (
          <fieldset class="field" key={i} disabled>
            <legend>{q.text.trim() || `Вопрос ${i + 1} без текста`}</legend>
            {kind === "text" ? (
              <textarea rows={2} aria-label="Свободный ответ" />
            ) : (
              options.map((o) => (
                <label class={kind === "multi" ? "checkbox" : "radio"} key={o}>
                  <input type={kind === "multi" ? "checkbox" : "radio"} name={`preview-${i}`} />
                  {o}
                </label>
              ))
            )}
            {kind !== "text" && options.length < 2 && <p class="hint">Нужно от 2 до 10 вариантов ответа.</p>}
          </fieldset>
        );
      })}
    </section>
  );
}

function audienceOf(municipalities: string[], minAge: string): Schemas["AudienceRequest"] {
  const a: Schemas["AudienceRequest"] = {};
  if (municipalities.length) a.municipalities = municipalities;
  if (minAge.trim()) a.min_age = Number(minAge);
  return a;
}

export function NewPoll(props: { discussion?: boolean }) {
  const ref = useLoad(loadReference, []);
  const discussion = !!props.discussion;
  const [kind, setKind] = useState<Schemas["PollKindRequest"]>("vote");
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [questions, setQuestions] = useState<QuestionDraft[]>([newQuestion()]);
  const [municipalities, setMunicipalities] = useState<string[]>([]);
  const [minAge, setMinAge] = useState("");
  const [openNow, setOpenNow] = useState(true);
  const [opensAt, setOpensAt] = useState(nextHour);
  const [closesAt, setClosesAt] = useState(() => dayEndIn(7));
  const [results, setResults] = useState<Schemas["ResultsVisibility"]>("after_close");
  const [preview, setPreview] = useState(false);
  const { busy, error, setError, errorId, run } = useFormRequest("poll-error");
  const setQ = (i: number, patch: Partial<QuestionDraft>) => setQuestions((qs) => qs.map((q, j) => (j === i ? { ...q, ...patch } : q)));
  const questionList = kind === "vote" ? questions.slice(0, 1) : questions;

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const common = {
      title: title.trim(),
      audience: audienceOf(municipalities, minAge),
      opens_at: openNow ? new Date().toISOString() : zonedInputToRfc3339(opensAt, regionZone()),
      closes_at: zonedInputToRfc3339(closesAt, regionZone()),
    };
    const question = (q: QuestionDraft): Schemas["QuestionRequest"] => {
      const out: Schemas["QuestionRequest"] = { text: q.text.trim(), kind: kind === "vote" ? "single" : q.kind };
      if (out.kind !== "text") out.options = q.options.split("\n").map((o) => o.trim()).filter(Boolean);
      if (out.kind === "multi" && q.max_choices.trim()) out.max_choices = Number(q.max_choices);
      if (!q.required) out.required = false;
      return out;
    };
    await run(async () => {
      if (discussion) {
        const created = await api.post("/v1/discussions", { body: { ...common, description: description.trim() } });
        navigate(`/discussions/${created.id}`);
      } else {
        const poll: Schemas["PollRequest"] = { ...common, kind, results, questions: questionList.map(question) };
        if (description.trim()) poll.description = description.trim();
        const created = await api.post("/v1/polls", { body: poll });
        navigate(`/polls/${created.id}?created=1`);
      }
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
                {questionError(error, i) && <div class="field-error">{questionError(error, i)}</div>}
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
            <fieldset class="field" aria-describedby="results-secrecy">
              <legend>Итоги</legend>
              <label class="radio">
                <input type="radio" name="results" checked={results === "after_close"} onChange={() => setResults("after_close")} />
                Публиковать после завершения
              </label>
              <label class="radio">
                <input type="radio" name="results" checked={results === "live"} onChange={() => setResults("live")} />
                Показывать во время голосования
              </label>
              <p class="hint" id="results-secrecy">
                {results === "after_close"
                  ? "Ответы запечатываются ключом опроса и вскрываются только при подведении итогов; затем ключ и запечатанные ответы уничтожаются. Связать ответ с жителем не сможет никто, включая администраторов платформы."
                  : "Тайна голосования слабее: голос учитывается сразу, в той же записи базы данных, что и отметка о голосовании, поэтому администратор с доступом к журналу базы данных может связать недавние ответы с жителями. Для тайного голосования выберите публикацию после завершения."}
              </p>
            </fieldset>
          )}
          {preview && (
            <PollPreview
              title={title}
              description={description}
              kind={discussion ? "discussion" : kind}
              questions={discussion ? [] : questionList}
              opens={openNow ? "сразу после создания" : fmtInput(opensAt)}
              closes={fmtInput(closesAt)}
              audience={[municipalities.length ? municipalities.map((m) => ref.data!.municipality(m)).join(", ") : "весь регион", minAge.trim() ? `с ${minAge.trim()} лет` : ""].filter(Boolean).join(", ")}
            />
          )}
          <div class="actions">
            <Button type="button" kind="secondary" onClick={() => setPreview(!preview)} aria-expanded={preview} aria-controls="poll-preview">
              {preview ? "Скрыть предпросмотр" : "Предпросмотр"}
            </Button>
            <Button type="submit" busy={busy}>
              {discussion ? "Создать обсуждение" : "Создать"}
            </Button>
          </div>
        </form>
      )}
    </Page>
  );
}
