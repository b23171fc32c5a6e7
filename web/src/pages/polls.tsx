import { useState } from "preact/hooks";
import { api, ApiError, type Page as ListPage, type Schemas } from "../api";
import { Chart } from "../charts";
import { fmtDateTime, pct, plural, POLL_STATUS } from "../format";
import { navigate } from "../router";
import { hasRole, session } from "../session";
import { Button, ErrorBox, Loading, Page, Success, TextArea, TextInput, toApiError, useFormRequest, useLoad } from "../ui";

export type Question = Schemas["Question"];
export type Poll = Schemas["PollView"];
export type Results = Schemas["Results"];
type Comment = Schemas["CommentView"];

const KIND: Record<string, string> = { vote: "Голосование", survey: "Опрос", discussion: "Обсуждение" };
/** Receipts are kept per person on this device, so that the voter can find theirs again. */
const receiptsKey = () => `feedback.receipts.${session.value?.sub ?? ""}`;

function savedReceipts(): Record<string, string> {
  try {
    return JSON.parse(localStorage.getItem(receiptsKey()) ?? "{}");
  } catch {
    return {};
  }
}

function saveReceipt(pollId: string, receipt: string) {
  try {
    localStorage.setItem(receiptsKey(), JSON.stringify({ ...savedReceipts(), [pollId]: receipt }));
  } catch {
    // the receipt is still shown on screen
  }
}

export function PollList() {
  const [status, setStatus] = useState<"open" | "scheduled" | "closed">("open");
  const list = useLoad(() => api.get("/v1/polls", { query: { status, limit: 50 } }), [status]);
  const tabs: [typeof status, string][] = [
    ["open", "Идут сейчас"],
    ["scheduled", "Запланированы"],
    ["closed", "Завершены"],
  ];
  return (
    <Page title="Голосования и опросы" lead={hasRole(session.value, "citizen") ? "Здесь показаны голосования, в которых вы можете участвовать." : undefined}>
      <div class="tabs" role="group" aria-label="Показать">
        {tabs.map(([k, l]) => (
          <Button key={k} kind={status === k ? "primary" : "secondary"} aria-pressed={status === k} onClick={() => setStatus(k)}>
            {l}
          </Button>
        ))}
      </div>
      {list.loading && <Loading />}
      <ErrorBox error={list.error} />
      {list.data && list.data.items.length === 0 && <p>Нет голосований.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul class="cards" aria-label="Голосования">
          {list.data.items.map((p) => (
            <li class="card" key={p.id}>
              <a class="card-link" href={`/polls/${p.id}`}>
                {p.title}
              </a>
              <span class="badges">
                <span class="badge">{KIND[p.kind] ?? p.kind}</span>
                <span class={`badge badge-poll-${p.status}`}>{POLL_STATUS[p.status] ?? p.status}</span>
                {p.has_voted && <span class="badge badge-closed">Вы проголосовали</span>}
              </span>
              <p class="meta">
                {fmtDateTime(p.opens_at)} — {fmtDateTime(p.closes_at)}
              </p>
            </li>
          ))}
        </ul>
      )}
      {hasRole(session.value, "citizen") && (
        <p>
          <a href="/receipt">Проверить квитанцию о голосовании</a>
        </p>
      )}
    </Page>
  );
}

export function PollDetail(props: { id: string }) {
  const poll = useLoad(() => api.get("/v1/polls/{id}", { path: { id: props.id } }), [props.id]);
  const [receipt, setReceipt] = useState<string | null>(() => savedReceipts()[props.id] ?? null);
  const p = poll.data;
  const citizen = hasRole(session.value, "citizen");
  return (
    <Page title={p?.title ?? "Голосование"}>
      {poll.loading && !p && <Loading />}
      <ErrorBox error={poll.error} />
      {p && (
        <>
          <p class="badges">
            <span class="badge">{KIND[p.kind] ?? p.kind}</span>
            <span class={`badge badge-poll-${p.status}`}>{POLL_STATUS[p.status] ?? p.status}</span>
          </p>
          {p.description && <p>{p.description}</p>}
          <p class="meta">
            Проводится с {fmtDateTime(p.opens_at)} по {fmtDateTime(p.closes_at)}.{" "}
            {p.results === "after_close" ? "Итоги публикуются после завершения." : "Итоги видны во время голосования."}
          </p>
          {receipt && (
            <Success>
              <p>
                Ваш голос учтён. Квитанция: <code data-testid="receipt">{receipt}</code>
              </p>
              <p class="hint">Сохраните квитанцию: по ней можно проверить, что голос засчитан. Она не раскрывает, как вы проголосовали.</p>
            </Success>
          )}
          {citizen && p.status === "open" && !p.has_voted && !receipt && (
            <Ballot
              poll={p}
              onDone={(r) => {
                saveReceipt(p.id, r);
                setReceipt(r);
              }}
            />
          )}
          {citizen && p.has_voted && !receipt && <Success>Вы уже проголосовали.</Success>}
          {hasRole(session.value, "admin") && (p.status === "scheduled" || p.status === "open") && <CancelPoll poll={p} onDone={poll.reload} />}
          <PollResults poll={p} voted={!!receipt} />
        </>
      )}
    </Page>
  );
}

/** The admin cancels a poll that has not closed, after saying so a second time. */
function CancelPoll(props: { poll: Poll; onDone: () => void }) {
  const [asked, setAsked] = useState(false);
  const { busy, error, errorId, run } = useFormRequest("cancel-error");
  const what = props.poll.kind === "discussion" ? "обсуждение" : props.poll.status === "scheduled" ? "голосование до его начала" : "идущее голосование";
  return (
    <section class="panel" aria-labelledby="cancel-h">
      <h2 id="cancel-h">Отмена</h2>
      <ErrorBox error={error} id={errorId} />
      {!asked ? (
        <Button kind="secondary" onClick={() => setAsked(true)}>
          Отменить {props.poll.kind === "discussion" ? "обсуждение" : "голосование"}
        </Button>
      ) : (
        <div role="alert" class="alert alert-warn">
          <p>
            Отменить {what}? Жители больше не смогут участвовать{props.poll.results === "after_close" ? ", а поданные бюллетени будут уничтожены без подсчёта" : ""}. Это нельзя вернуть.
          </p>
          <div class="actions">
            <Button busy={busy} onClick={() => run(async () => { await api.post("/v1/polls/{id}/cancel", { path: { id: props.poll.id } }); props.onDone(); })}>
              Да, отменить
            </Button>
            <Button kind="secondary" onClick={() => setAsked(false)}>
              Нет
            </Button>
          </div>
        </div>
      )}
    </section>
  );
}

function Ballot(props: { poll: Poll; onDone: (receipt: string) => void }) {
  const qs = props.poll.questions ?? [];
  const [answers, setAnswers] = useState<{ options: number[]; text: string }[]>(() => qs.map(() => ({ options: [], text: "" })));
  const { busy, error, errorId, fail, run } = useFormRequest("ballot-error");
  const setAnswer = (i: number, patch: Partial<{ options: number[]; text: string }>) =>
    setAnswers((a) => a.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  const submit = async (e: Event) => {
    e.preventDefault();
    const missing = qs
      .map((q, i) => ({ q, i }))
      .filter(({ q, i }) => q.required !== false && (q.kind === "text" ? !answers[i].text.trim() : answers[i].options.length === 0));
    if (missing.length) {
      fail(
        new ApiError(422, "client", "Ответьте на все обязательные вопросы", "Некоторые обязательные вопросы остались без ответа.", missing.map(({ i }) => ({ field: `answers[${i}]`, message: "ответьте на этот вопрос" }))),
      );
      return;
    }
    const body: Schemas["BallotRequest"] = {
      answers: qs
        .map((q, i) => (q.kind === "text" ? { question: i, text: answers[i].text.trim() } : { question: i, options: answers[i].options }))
        .filter((a, i) => ("text" in a ? !!a.text : answers[i].options.length > 0)),
    };
    await run(async () => {
      const r = await api.post("/v1/polls/{id}/ballots", { path: { id: props.poll.id }, body });
      props.onDone(r.receipt);
    });
  };
  return (
    <section class="panel" aria-labelledby="ballot-h">
      <h2 id="ballot-h">Бюллетень</h2>
      <form class="form" onSubmit={submit} noValidate>
        <ErrorBox error={error} shown={qs.map((_, i) => `answers[${i}]`)} id={errorId} />
        {qs.map((q, i) => {
          const err = error?.forField(`answers[${i}]`);
          const name = `q${i}`;
          if (q.kind === "text") {
            return <TextArea key={i} label={`${i + 1}. ${q.text}`} value={answers[i].text} onValue={(v) => setAnswer(i, { text: v })} max={1000} rows={3} error={err} />;
          }
          const multi = q.kind === "multi";
          return (
            <fieldset key={i} class={`field ${err ? "field-invalid" : ""}`}>
              <legend>
                {i + 1}. {q.text}
                {multi && q.max_choices ? ` (не больше ${q.max_choices})` : ""}
              </legend>
              {err && <div class="field-error">{err}</div>}
              {(q.options ?? []).map((o, k) => (
                <label class={multi ? "checkbox" : "radio"} key={k}>
                  <input
                    type={multi ? "checkbox" : "radio"}
                    name={name}
                    value={k}
                    checked={answers[i].options.includes(k)}
                    aria-invalid={!!err || undefined}
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      if (!multi) setAnswer(i, { options: [k] });
                      else setAnswer(i, { options: on ? [...answers[i].options, k].sort() : answers[i].options.filter((x) => x !== k) });
                    }}
                  />
                  {o}
                </label>
              ))}
            </fieldset>
          );
        })}
        <div class="actions">
          <Button type="submit" busy={busy}>
            Проголосовать
          </Button>
        </div>
      </form>
    </section>
  );
}

export function PollResults(props: { poll: Poll; voted?: boolean }) {
  const res = useLoad(() => api.get("/v1/polls/{id}/results", { path: { id: props.poll.id } }), [props.poll.id, props.poll.status, props.voted]);
  if (res.loading) return <Loading label="Загрузка итогов…" />;
  if (res.error?.code === "results_not_published") {
    return <p class="hint">Итоги будут опубликованы после завершения голосования ({fmtDateTime(props.poll.closes_at)}).</p>;
  }
  if (res.error) return res.error.status === 403 ? null : <ErrorBox error={res.error} />;
  const r = res.data!;
  return (
    <section aria-labelledby="results-h" data-testid="results">
      <h2 id="results-h">{r.final ? "Итоги" : "Промежуточные итоги"}</h2>
      <p>
        Всего {r.total_ballots} {plural(r.total_ballots, "бюллетень", "бюллетеня", "бюллетеней")}.
      </p>
      {r.questions.map((q, i) => {
        const question = props.poll.questions?.[i];
        if (q.kind === "text") {
          return (
            <p key={i}>
              {i + 1}. {question?.text}: {q.text_answers ?? 0} {plural(q.text_answers ?? 0, "ответ", "ответа", "ответов")} (тексты доступны администраторам в выгрузке).
            </p>
          );
        }
        const opts = q.options ?? [];
        return (
          <Chart
            key={i}
            testId="results-chart"
            title={`${i + 1}. ${question?.text ?? "Вопрос"}`}
            kind="hbar"
            labels={opts.map((o) => o.option)}
            series={[{ label: "Голосов", data: opts.map((o) => o.count) }]}
          >
            <ul class="shares">
              {opts.map((o) => (
                <li key={o.index}>
                  {o.option}: {o.count} ({pct(o.share)})
                </li>
              ))}
            </ul>
          </Chart>
        );
      })}
    </section>
  );
}

export function ReceiptCheck() {
  const [receipt, setReceipt] = useState("");
  const [result, setResult] = useState<string | null>(null);
  const { busy, error, errorId, fail, run } = useFormRequest("receipt-error");
  const submit = async (e: Event) => {
    e.preventDefault();
    setResult(null);
    if (!receipt.trim()) {
      fail(new ApiError(422, "client", "Введите квитанцию", "Поле квитанции пустое.", [{ field: "receipt", message: "введите код квитанции" }]));
      return;
    }
    await run(
      async () => {
        const r = await api.get("/v1/ballots/{receipt}", { path: { receipt: receipt.trim() } });
        setResult(r.counted ? r.poll_id : null);
      },
      (e2) => (e2.status === 404 ? new ApiError(404, "not_found", "Не найдено", "Бюллетень с такой квитанцией не найден.", [{ field: "receipt", message: "такой квитанции нет" }]) : e2),
    );
  };
  return (
    <Page title="Проверка квитанции" lead="Убедитесь, что ваш голос засчитан. Квитанция не раскрывает, как вы проголосовали.">
      <form class="form" onSubmit={submit} noValidate>
        <ErrorBox error={error} shown={["receipt"]} id={errorId} />
        <TextInput label="Код квитанции" value={receipt} onValue={setReceipt} error={error?.forField("receipt")} autoComplete="off" spellcheck={false} />
        <div class="actions">
          <Button type="submit" busy={busy}>
            Проверить
          </Button>
        </div>
      </form>
      {result && (
        <Success>
          Бюллетень засчитан. <a href={`/polls/${result}`}>Открыть голосование</a>
        </Success>
      )}
    </Page>
  );
}

export function DiscussionList() {
  const list = useLoad(() => api.get("/v1/discussions", { query: { status: "open", limit: 50 } }), []);
  return (
    <Page title="Обсуждения">
      {list.loading && <Loading />}
      <ErrorBox error={list.error} />
      {list.data && list.data.items.length === 0 && <p>Открытых обсуждений нет.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul class="cards" aria-label="Обсуждения">
          {list.data.items.map((d) => (
            <li class="card" key={d.id}>
              <a class="card-link" href={`/discussions/${d.id}`}>
                {d.title}
              </a>
              <p class="meta">до {fmtDateTime(d.closes_at)}</p>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}

export function DiscussionDetail(props: { id: string }) {
  const d = useLoad(() => api.get("/v1/discussions/{id}", { path: { id: props.id } }), [props.id]);
  const comments = useLoad(async () => {
    const all: Comment[] = [];
    let cursor: string | null = null;
    do {
      const page: ListPage<Comment> = await api.get("/v1/discussions/{id}/comments", { path: { id: props.id }, query: { limit: 100, cursor } });
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && all.length < 1000);
    return all;
  }, [props.id]);
  const citizen = hasRole(session.value, "citizen");
  const open = d.data?.status === "open";
  const byParent = new Map<string, Comment[]>();
  for (const c of comments.data ?? []) {
    const k = c.reply_to ?? "";
    byParent.set(k, [...(byParent.get(k) ?? []), c]);
  }
  const thread = (parent: string, depth: number) => (
    <ul class={depth ? "thread thread-nested" : "thread"}>
      {(byParent.get(parent) ?? []).map((c) => (
        <li key={c.id}>
          <CommentItem comment={c} canReply={citizen && open && depth < 4} discussionId={props.id} onChange={comments.reload} />
          {byParent.has(c.id) && thread(c.id, depth + 1)}
        </li>
      ))}
    </ul>
  );
  return (
    <Page title={d.data?.title ?? "Обсуждение"}>
      {(d.loading || comments.loading) && <Loading />}
      <ErrorBox error={d.error ?? comments.error} />
      {d.data?.description && <p>{d.data.description}</p>}
      {citizen && open && <CommentForm discussionId={props.id} onDone={comments.reload} label="Ваш комментарий" />}
      <h2>Комментарии</h2>
      {comments.data && comments.data.length === 0 && <p>Комментариев пока нет.</p>}
      {comments.data && thread("", 0)}
    </Page>
  );
}

function CommentForm(props: { discussionId: string; replyTo?: string; onDone: () => void; label: string }) {
  const [text, setText] = useState("");
  const { busy, error, errorId, run } = useFormRequest("comment-error");
  const submit = async (e: Event) => {
    e.preventDefault();
    await run(async () => {
      await api.post("/v1/discussions/{id}/comments", { path: { id: props.discussionId }, body: props.replyTo ? { text, reply_to: props.replyTo } : { text } });
      setText("");
      props.onDone();
    });
  };
  return (
    <form class="form" onSubmit={submit} noValidate>
      <ErrorBox error={error} shown={["text"]} id={errorId} />
      <TextArea label={props.label} value={text} onValue={setText} max={1000} rows={3} error={error?.forField("text")} />
      <div class="actions">
        <Button type="submit" busy={busy}>
          Отправить
        </Button>
      </div>
    </form>
  );
}

function CommentItem(props: { comment: Comment; canReply: boolean; discussionId: string; onChange: () => void }) {
  const c = props.comment;
  const [replying, setReplying] = useState(false);
  const [flagging, setFlagging] = useState(false);
  const [reason, setReason] = useState("");
  const [state, setState] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const moderator = hasRole(session.value, "moderator");
  const flag = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api.post("/v1/comments/{id}/flags", { path: { id: c.id }, body: reason.trim() ? { reason: reason.trim() } : {} });
      setState("Жалоба отправлена модератору.");
      setFlagging(false);
    } catch (err) {
      setError(toApiError(err));
    }
  };
  const moderate = async (action: "hide" | "restore") => {
    setError(null);
    try {
      await api.post(`/v1/comments/{id}/${action}`, { path: { id: c.id } });
      props.onChange();
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <article class={`comment ${c.hidden ? "comment-hidden" : ""}`} aria-label={`Комментарий от ${fmtDateTime(c.created_at)}`}>
      <p class="meta">
        {c.mine ? "Вы" : "Участник"} · {fmtDateTime(c.created_at)}
        {c.flags ? ` · жалоб: ${c.flags}` : ""}
      </p>
      <p>{c.hidden && !moderator ? "Комментарий скрыт модератором." : c.text}</p>
      <div class="comment-actions">
        {props.canReply && (
          <Button kind="link" onClick={() => setReplying(!replying)} aria-expanded={replying}>
            Ответить
          </Button>
        )}
        {!c.mine && !c.hidden && hasRole(session.value, "citizen") && (
          <Button kind="link" onClick={() => setFlagging(!flagging)} aria-expanded={flagging}>
            Пожаловаться
          </Button>
        )}
        {moderator && (
          <Button kind="link" onClick={() => moderate(c.hidden ? "restore" : "hide")}>
            {c.hidden ? "Вернуть" : "Скрыть"}
          </Button>
        )}
      </div>
      {state && <p role="status">{state}</p>}
      <ErrorBox error={error} shown={["reason"]} />
      {flagging && (
        <form class="form" onSubmit={flag} noValidate>
          <TextInput label="Причина жалобы" value={reason} onValue={setReason} error={error?.forField("reason")} maxLength={500} />
          <Button type="submit" kind="secondary">
            Отправить жалобу
          </Button>
        </form>
      )}
      {replying && (
        <CommentForm
          discussionId={props.discussionId}
          replyTo={c.id}
          label="Ответ на комментарий"
          onDone={() => {
            setReplying(false);
            props.onChange();
          }}
        />
      )}
    </article>
  );
}

/** Opens a message by its number (`72-000123`) or its id: moderators and officials act on
 * messages they are told about, often over the phone. */
export function MessageLookup() {
  const [id, setId] = useState("");
  const [error, setError] = useState<string | undefined>();
  const open = async (e: Event) => {
    e.preventDefault();
    const v = id.trim().toUpperCase();
    if (/^[0-9A-Z]{1,8}-[0-9]{6,15}$/.test(v)) {
      try {
        const m = await api.get("/v1/messages/by-number/{number}", { path: { number: v } });
        navigate(`/messages/${m.id}`);
      } catch (err) {
        setError(err instanceof ApiError && err.status === 404 ? "сообщения с таким номером нет или оно вам недоступно" : toApiError(err).message);
      }
      return;
    }
    if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(v)) {
      setError("номер сообщения — код региона, дефис и 6 цифр (72-000123) или 26 латинских букв и цифр");
      return;
    }
    navigate(`/messages/${v}`);
  };
  return (
    <form class="filters" onSubmit={open} noValidate aria-label="Открыть сообщение">
      <TextInput label="Номер сообщения" value={id} onValue={setId} error={error} autoComplete="off" spellcheck={false} />
      <div class="field field-button">
        <Button type="submit">Открыть</Button>
      </div>
    </form>
  );
}

export function ModerationQueue() {
  const [state, setState] = useState<"flagged" | "hidden">("flagged");
  const list = useLoad(() => api.get("/v1/moderation/comments", { query: { state, limit: 50 } }), [state]);
  return (
    <Page title="Модерация">
      <h2>Сообщение по номеру</h2>
      <MessageLookup />
      <h2>Комментарии</h2>
      <div class="tabs" role="group" aria-label="Показать">
        {(
          [
            ["flagged", "С жалобами"],
            ["hidden", "Скрытые"],
          ] as const
        ).map(([k, l]) => (
          <Button key={k} kind={state === k ? "primary" : "secondary"} aria-pressed={state === k} onClick={() => setState(k)}>
            {l}
          </Button>
        ))}
      </div>
      {list.loading && <Loading />}
      <ErrorBox error={list.error} />
      {list.data && list.data.items.length === 0 && <p>Очередь пуста.</p>}
      {list.data && (
        <ul class="thread">
          {list.data.items.map((c) => (
            <li key={c.id}>
              <CommentItem comment={c} canReply={false} discussionId={c.discussion_id} onChange={list.reload} />
              {c.flag_reasons && c.flag_reasons.length > 0 && (
                <div class="flag-reasons">
                  <p>Причины жалоб:</p>
                  <ul>
                    {c.flag_reasons.map((r, i) => (
                      <li key={i}>{r}</li>
                    ))}
                  </ul>
                </div>
              )}
              <a href={`/discussions/${c.discussion_id}`}>К обсуждению</a>
            </li>
          ))}
        </ul>
      )}
    </Page>
  );
}
