import { useEffect, useState } from "preact/hooks";
import { api, ApiError, uploadPhoto, type Schemas } from "../api";
import { unread$ } from "../unread";
import { fmtDate, fmtDateTime, messageRef, REJECT_REASONS, ROLE, STATUS } from "../format";
import { loadReference, type Reference } from "../reference";
import { navigate, useLocation } from "../router";
import { hasRole, session } from "../session";
import { useSignal } from "../signal";
import { Button, ErrorBox, focusError, Loading, Page, Pager, Select, StatusBadge, useQueryFilter, Success, TextArea, TextInput, toApiError, useId, useFormRequest, useLoad, usePager } from "../ui";
import { SubmitForm } from "./submit";

export type History = Schemas["HistoryView"];
export type Message = Schemas["MessageView"];

export function NewMessage() {
  const ref = useLoad(loadReference, []);
  return (
    <Page title="Новое сообщение" lead="Сообщите о проблеме — сообщение направят в ответственный орган власти.">
      {ref.loading && <Loading />}
      <ErrorBox error={ref.error} />
      {ref.data && <SubmitForm reference={ref.data} onDone={(m) => navigate(`/messages/${m.id}?new=1`)} />}
    </Page>
  );
}

export function MyMessages() {
  const pager = usePager();
  const ref = useLoad(loadReference, []);
  const list = useLoad(() => api.get("/v1/messages", { query: { limit: 20, cursor: pager.cursor } }), [pager.cursor]);
  return (
    <Page title="Мои сообщения">
      <p>
        <a class="btn btn-primary" href="/new">
          Написать сообщение
        </a>
      </p>
      {list.loading && <Loading />}
      <ErrorBox error={list.error ?? ref.error} />
      {list.data && list.data.items.length === 0 && <p>Сообщений пока нет.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul class="cards" aria-label="Сообщения">
          {list.data.items.map((m) => (
            <li class="card" key={m.id}>
              <a href={`/messages/${m.id}`} class="card-link">
                {ref.data?.category(m.category_id) ?? m.category_id}
              </a>
              <StatusBadge status={m.status} overdue={m.overdue} />
              <p class="meta" data-testid="message-number">Обращение № {messageRef(m)}</p>
              <p class="clip">{m.text}</p>
              <p class="meta">
                {fmtDateTime(m.created_at)}
                {m.deadline ? ` · срок ответа: ${fmtDateTime(m.deadline)}` : ""}
              </p>
            </li>
          ))}
        </ul>
      )}
      <Pager page={pager.page} next={list.data?.next_cursor} onNext={() => list.data?.next_cursor && pager.next(list.data.next_cursor)} onPrev={pager.prev} />
    </Page>
  );
}

function Timeline(props: { history: History[]; reference: Reference }) {
  return (
    <ol class="timeline" aria-label="История сообщения">
      {props.history.map((h, i) => (
        <li key={i} class={`step step-${h.to}`}>
          <div class="step-title">{STATUS[h.to] ?? h.to}</div>
          <div class="meta">
            {fmtDateTime(h.at)} · {ROLE[h.actor_role] ?? h.actor_role}
            {h.actor_authority_id ? ` (${props.reference.authority(h.actor_authority_id)})` : ""}
          </div>
          {h.note && <div class="step-note">{h.note}</div>}
        </li>
      ))}
    </ol>
  );
}

export function MessageDetail(props: { id: string }) {
  const s = useSignal(session);
  const ref = useLoad(loadReference, []);
  const msg = useLoad(() => api.get("/v1/messages/{id}", { path: { id: props.id } }), [props.id]);
  const [current, setCurrent] = useState<Message | null>(null);
  useEffect(() => setCurrent(msg.data ?? null), [msg.data]);
  const fresh = useLocation().query.get("new") === "1";
  const [done, setDone] = useState<string | null>(null);
  // After an action: the answer at once, then the whole message again, history included. A
  // message the action took out of reach (redirected to another authority) stays as answered.
  const acted = (what: string) => (next: Message) => {
    setCurrent((prev) => ({ ...next, history: next.history ?? prev?.history }));
    setDone(what);
    api.get("/v1/messages/{id}", { path: { id: next.id } }).then(setCurrent, () => undefined);
  };
  // Routing is asynchronous: poll until the message leaves `submitted`.
  useEffect(() => {
    if (current?.status !== "submitted") return;
    const t = setTimeout(msg.reload, 1500);
    return () => clearTimeout(t);
  }, [current]);
  const m = current;
  const r = ref.data;
  return (
    <Page title={m && r ? r.category(m.category_id) : "Сообщение"} lead={m ? `Обращение № ${messageRef(m)}` : undefined}>
      {(msg.loading && !m) || ref.loading ? <Loading /> : null}
      <ErrorBox error={msg.error ?? ref.error} />
      {m && r && (
        <div class="detail">
          <section aria-labelledby="msg-summary">
            <h2 id="msg-summary" class="visually-hidden">
              Сведения о сообщении
            </h2>
            {fresh && (
              <div class="alert alert-ok" role="status" data-testid="thanks">
                <strong>Спасибо! Сообщение принято.</strong> Обращение № <span class="nowrap">{messageRef(m)}</span> — назовите этот номер, если будете звонить.{" "}
                {m.deadline ? `Ответ придёт до ${fmtDate(m.deadline)}; о ходе рассмотрения мы сообщим в уведомлениях.` : "Сейчас его направляют в ответственный орган, и здесь появится срок ответа."}
              </div>
            )}
            <StatusBadge status={m.status} overdue={m.overdue} />
            {m.status === "submitted" && (
              <p role="status" class="hint">
                Сообщение принято и направляется в ответственный орган…
              </p>
            )}
            <dl class="facts">
              <dt>Номер</dt>
              <dd class="nowrap">{messageRef(m)}</dd>
              <dt>Подано</dt>
              <dd>{fmtDateTime(m.created_at)}</dd>
              <dt>Муниципальное образование</dt>
              <dd>{r.municipality(m.municipality_id)}</dd>
              {m.address && (
                <>
                  <dt>Адрес</dt>
                  <dd>{m.address}</dd>
                </>
              )}
              {m.location && (
                <>
                  <dt>Координаты</dt>
                  <dd>
                    {m.location.lat}, {m.location.lon}
                  </dd>
                </>
              )}
              <dt>Ответственный орган</dt>
              <dd data-testid="authority">{m.authority_id ? r.authority(m.authority_id) : "определяется"}</dd>
              <dt>Срок ответа</dt>
              <dd class={m.overdue ? "overdue" : ""}>{m.deadline ? fmtDateTime(m.deadline) : "—"}</dd>

              {m.duplicate_of && (
                <>
                  <dt>Повтор сообщения</dt>
                  <dd>
                    <code>{m.duplicate_of}</code>
                  </dd>
                </>
              )}
            </dl>
            <h2>Текст</h2>
            <p class="message-text">{m.text}</p>
            {m.photo_ids && m.photo_ids.length > 0 && <MessagePhotos messageId={m.id} photoIds={m.photo_ids} title="Фотографии" idPrefix="photos" />}
          </section>
          {m.answer && (
            <section class="answer" aria-labelledby="answer-h">
              <h2 id="answer-h">Ответ</h2>
              <p class="meta">
                {r.authority(m.answer.authority_id)}, {fmtDateTime(m.answer.answered_at)}
              </p>
              <p class="message-text" data-testid="answer">
                {m.answer.text}
              </p>
              {m.answer.photo_ids.length > 0 && <MessagePhotos messageId={m.id} photoIds={m.answer.photo_ids} title="Фотографии к ответу" idPrefix="answer-photos" />}
            </section>
          )}
          {m.rating && (
            <p data-testid="rating">
              Оценка ответа: <strong>{m.rating.score} из 5</strong>
              {m.rating.comment ? ` — «${m.rating.comment}»` : ""}
            </p>
          )}
          {done && (
            <div class="alert alert-ok" role="status" data-testid="done">
              {done}
            </div>
          )}
          {hasRole(s, "citizen") && m.status === "answered" && (
            <RatingForm message={m} onDone={(next) => acted(next.status === "reopened" ? "Сообщение возвращено на повторное рассмотрение. Ответ придёт в новый срок." : "Спасибо за оценку! Она учитывается в показателях органа власти.")(next)} />
          )}
          {hasRole(s, "official", "moderator") && <OfficialActions message={m} reference={r} onDone={acted("")} />}
          {m.history && m.history.length > 0 && (
            <section aria-labelledby="history-h">
              <h2 id="history-h">Ход рассмотрения</h2>
              <Timeline history={m.history} reference={r} />
            </section>
          )}
        </div>
      )}
    </Page>
  );
}

/** The photos, through the short-lived read URLs the API signs. */
function MessagePhotos(props: { messageId: string; photoIds: string[]; title: string; idPrefix: string }) {
  const urls = useLoad(
    () =>
      Promise.all(
        props.photoIds.map((p) =>
          api.get("/v1/messages/{id}/photos/{photo_id}", { path: { id: props.messageId, photo_id: p } }).then(
            (r) => r.url,
            () => null,
          ),
        ),
      ),
    [props.messageId, props.photoIds.join(",")],
  );
  return (
    <section aria-labelledby={`${props.idPrefix}-h`}>
      <h2 id={`${props.idPrefix}-h`}>{props.title}</h2>
      {urls.loading && <Loading />}
      <ul class="photos" data-testid={props.idPrefix}>
        {(urls.data ?? []).map((url, i) => (
          <li key={i}>
            {url ? (
              <a href={url} target="_blank" rel="noopener noreferrer" title="Открыть фотографию полностью">
                <img src={url} alt={`Фотография ${i + 1} к ${props.idPrefix === "photos" ? "сообщению" : "ответу"}, открыть полностью`} />
              </a>
            ) : (
              <span>Фотография {i + 1} недоступна</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** What each score means, from 1 to 5, under its star. */
const SCORE_WORDS = ["плохо", "так себе", "нормально", "хорошо", "отлично"];

function RatingForm(props: { message: Message; onDone: (m: Message) => void }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState("");
  const [reopen, setReopen] = useState(false);
  const { busy, error, errorId, fail, run } = useFormRequest("rating-error");
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!score) {
      fail(new ApiError(422, "client", "Поставьте оценку", "Выберите оценку от 1 до 5.", [{ field: "score", message: "выберите оценку от 1 до 5" }]));
      return;
    }
    await run(async () => {
      const body: Schemas["RatingRequest"] = { score };
      if (comment.trim()) body.comment = comment.trim();
      if (reopen) body.reopen = true;
      props.onDone(await api.post("/v1/messages/{id}/rating", { path: { id: props.message.id }, body }));
    });
  };
  const scoreError = error?.forField("score");
  return (
    <section aria-labelledby="rate-h" class="panel">
      <h2 id="rate-h">Оцените ответ</h2>
      <form onSubmit={submit} noValidate class="form">
        <ErrorBox error={error} shown={["score", "comment"]} id={errorId} />
        <fieldset class={`field stars ${scoreError ? "field-invalid" : ""}`}>
          <legend>Оценка</legend>
          {scoreError && <div class="field-error">{scoreError}</div>}
          {SCORE_WORDS.map((word, i) => (
            <label class={`star ${i < score ? "star-on" : ""}`} key={word}>
              <input type="radio" name="score" value={i + 1} checked={score === i + 1} onChange={() => setScore(i + 1)} aria-invalid={!!scoreError || undefined} aria-label={`${i + 1} из 5 — ${word}`} />
              <span class="star-icon" aria-hidden="true">
                ★
              </span>
              <span class="star-word" aria-hidden="true">
                {word}
              </span>
            </label>
          ))}
        </fieldset>
        <TextArea label="Комментарий (необязательно)" value={comment} onValue={setComment} max={1000} rows={3} error={error?.forField("comment")} />
        <label class="checkbox">
          <input type="checkbox" checked={reopen} onChange={(e) => setReopen((e.target as HTMLInputElement).checked)} />
          Проблема не решена — вернуть сообщение на повторное рассмотрение (можно один раз)
        </label>
        <div class="actions">
          <Button type="submit" busy={busy}>
            Отправить оценку
          </Button>
        </div>
      </form>
    </section>
  );
}

/** At most this many photos an answer carries, like a resident's message. */
const MAX_ANSWER_PHOTOS = 3;

function OfficialActions(props: { message: Message; reference: Reference; onDone: (m: Message) => void }) {
  const m = props.message;
  const s = session.value;
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [answer, setAnswer] = useState("");
  const [answerPhotos, setAnswerPhotos] = useState<{ id: string; name: string; url: string }[]>([]);
  const [photoError, setPhotoError] = useState<string | undefined>();
  const [uploading, setUploading] = useState(false);
  const [templateId, setTemplateId] = useState("");
  const [target, setTarget] = useState("");
  const [filter, setFilter] = useState("");
  const [reason, setReason] = useState("");
  const [rejectCode, setRejectCode] = useState("");
  const [rejectComment, setRejectComment] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const errorId = useId("act-error");
  const open = ["routed", "in_progress", "reopened"].includes(m.status);
  const isOfficial = hasRole(s, "official");
  const act = async (name: string, call: () => Promise<Message>, okText: string) => {
    setBusy(name);
    setError(null);
    setDone(null);
    try {
      props.onDone(await call());
      setDone(okText);
      if (name === "answer") {
        setAnswer("");
        setAnswerPhotos([]);
        setTemplateId("");
      }
    } catch (err) {
      setError(toApiError(err));
      focusError(errorId);
    } finally {
      setBusy(null);
    }
  };
  const templates = useLoad(() => (isOfficial && open ? api.get("/v1/authority/templates") : Promise.resolve({ items: [] })), [isOfficial, open]);
  const pickTemplate = (id: string) => {
    setTemplateId(id);
    const t = templates.data?.items.find((x) => x.id === id);
    if (t) setAnswer(t.text);
  };
  const addPhotos = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setPhotoError(undefined);
    const room = MAX_ANSWER_PHOTOS - answerPhotos.length;
    const list = Array.from(files);
    if (list.length > room) setPhotoError(`Можно приложить не больше ${MAX_ANSWER_PHOTOS} фотографий.`);
    setUploading(true);
    try {
      for (const file of list.slice(0, Math.max(room, 0))) {
        if (!["image/jpeg", "image/png"].includes(file.type)) {
          setPhotoError(`«${file.name}»: подходят только фотографии JPEG или PNG.`);
          continue;
        }
        if (file.size > 5 * 1024 * 1024) {
          setPhotoError(`«${file.name}» больше 5 МБ.`);
          continue;
        }
        try {
          const id = await uploadPhoto(file);
          setAnswerPhotos((p) => [...p, { id, name: file.name, url: URL.createObjectURL(file) }]);
        } catch (e) {
          const err = toApiError(e);
          setPhotoError(err.forField("size_bytes") ?? err.forField("content_type") ?? err.detail);
        }
      }
    } finally {
      setUploading(false);
    }
  };
  const photoInput = useId("answer-photos");
  const q = filter.trim().toLowerCase();
  const authorities = props.reference.authorities
    .filter((a) => a.id !== m.authority_id && (!q || a.name.toLowerCase().includes(q)))
    .map((a): [string, string] => [a.id, a.name]);
  const moderator = hasRole(s, "moderator");
  const canReject = moderator && (open || m.status === "submitted");
  if (!open && !canReject) return done ? <Success>{done}</Success> : null;
  return (
    <section aria-labelledby="actions-h" class="panel">
      <h2 id="actions-h">Действия</h2>
      {done && <Success>{done}</Success>}
      <ErrorBox error={error} shown={["text", "photo_ids", "authority_id", "reason", "reason_code", "comment"]} id={errorId} />
      {isOfficial && (m.status === "routed" || m.status === "reopened") && (
        <p>
          <Button kind="secondary" busy={busy === "take"} onClick={() => act("take", () => api.post("/v1/messages/{id}/take", { path: { id: m.id } }), "Сообщение взято в работу.")}>
            Взять в работу
          </Button>
        </p>
      )}
      {isOfficial && open && (
        <form
          class="form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const body: Schemas["AnswerRequest"] = { text: answer };
            if (answerPhotos.length) body.photo_ids = answerPhotos.map((p) => p.id);
            act("answer", () => api.post("/v1/messages/{id}/answer", { path: { id: m.id }, body }), "Ответ отправлен жителю.");
          }}
        >
          <h3>Ответ жителю</h3>
          {(templates.data?.items.length ?? 0) > 0 ? (
            <Select
              label="Шаблон ответа"
              hint="Текст шаблона подставится в поле ответа: его можно изменить перед отправкой."
              value={templateId}
              onValue={pickTemplate}
              options={(templates.data?.items ?? []).map((t): [string, string] => [t.id, t.title])}
              placeholder="Без шаблона"
            />
          ) : (
            <p class="hint">
              Готовые ответы органа можно завести в разделе <a href="/templates">«Шаблоны ответов»</a>.
            </p>
          )}
          <TextArea label="Текст ответа" value={answer} onValue={setAnswer} min={10} max={4000} error={busy ? undefined : error?.forField("text")} name="answer" />
          <div class={`field photo-picker ${photoError || error?.forField("photo_ids") ? "field-invalid" : ""}`}>
            <div class="label-text" id={`${photoInput}-title`}>
              Фотографии к ответу
            </div>
            <div class="hint" id={`${photoInput}-hint`}>
              Что сделано: до {MAX_ANSWER_PHOTOS} снимков JPEG или PNG, каждый до 5 МБ. Приложено: {answerPhotos.length}.
            </div>
            {(photoError || error?.forField("photo_ids")) && (
              <div class="field-error" id={`${photoInput}-err`}>
                {photoError ?? error?.forField("photo_ids")}
              </div>
            )}
            <input
              id={photoInput}
              class="file-input"
              type="file"
              accept="image/jpeg,image/png"
              multiple
              disabled={answerPhotos.length >= MAX_ANSWER_PHOTOS || uploading}
              aria-labelledby={`${photoInput}-title ${photoInput}-button`}
              aria-describedby={`${photoInput}-hint`}
              onChange={(e) => {
                const input = e.target as HTMLInputElement;
                addPhotos(input.files).finally(() => (input.value = ""));
              }}
            />
            <label for={photoInput} id={`${photoInput}-button`} class={`btn btn-secondary file-button ${answerPhotos.length >= MAX_ANSWER_PHOTOS || uploading ? "is-disabled" : ""}`}>
              Приложить фотографии
            </label>
          </div>
          {uploading && <p role="status">Загружаем фотографии…</p>}
          {answerPhotos.length > 0 && (
            <ul class="photos" aria-label="Фотографии к ответу" data-testid="answer-photos-picked">
              {answerPhotos.map((p) => (
                <li key={p.id}>
                  <img src={p.url} alt={p.name} />
                  <Button type="button" kind="link" onClick={() => setAnswerPhotos((list) => list.filter((x) => x.id !== p.id))} aria-label={`Убрать фото ${p.name}`}>
                    Убрать
                  </Button>
                </li>
              ))}
            </ul>
          )}
          <div class="actions">
            <Button type="submit" busy={busy === "answer"} disabled={uploading}>
              Отправить ответ
            </Button>
          </div>
        </form>
      )}
      {open && (
        <form
          class="form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const body = { authority_id: target, reason: reason.trim() || "not_in_competence" };
            act("redirect", () => api.post("/v1/messages/{id}/redirect", { path: { id: m.id }, body }), "Сообщение перенаправлено.");
          }}
        >
          <h3>Перенаправить</h3>
          <div class="grid-2">
            <TextInput label="Поиск органа власти" type="search" value={filter} onValue={setFilter} autoComplete="off" />
            <Select label="Орган власти" value={target} onValue={setTarget} options={authorities} placeholder="Выберите орган" error={error?.forField("authority_id")} />
          </div>
          <TextInput label="Причина" hint="Если пусто — «вопрос вне компетенции» (not_in_competence)." value={reason} onValue={setReason} error={error?.forField("reason")} />
          <div class="actions">
            <Button type="submit" kind="secondary" busy={busy === "redirect"}>
              Перенаправить
            </Button>
          </div>
        </form>
      )}
      {canReject && (
        <form
          class="form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const body: Schemas["RejectRequest"] = { reason_code: rejectCode };
            if (rejectComment.trim()) body.comment = rejectComment.trim();
            act("reject", () => api.post("/v1/messages/{id}/reject", { path: { id: m.id }, body }), "Сообщение отклонено.");
          }}
        >
          <h3>Отклонить</h3>
          <Select label="Причина отклонения" value={rejectCode} onValue={setRejectCode} options={REJECT_REASONS} placeholder="Выберите причину" error={error?.forField("reason_code")} />
          <TextInput label="Комментарий (необязательно)" value={rejectComment} onValue={setRejectComment} error={error?.forField("comment")} />
          <div class="actions">
            <Button type="submit" kind="danger" busy={busy === "reject"}>
              Отклонить сообщение
            </Button>
          </div>
        </form>
      )}
    </section>
  );
}

export function Notifications() {
  const pager = usePager();
  const list = useLoad(() => api.get("/v1/me/notifications", { query: { limit: 20, cursor: pager.cursor } }), [pager.cursor]);
  // What the resident has seen is read: everything up to the newest notification shown.
  useEffect(() => {
    const shown = list.data?.items ?? [];
    const unreadShown = shown.filter((n) => !n.read).map((n) => n.id);
    if (unreadShown.length === 0) return;
    api.post("/v1/me/notifications/read", { body: { ids: unreadShown } }).then(
      (r) => unread$.set({ unread: r.unread, capped: r.unread >= 100 }),
      () => undefined,
    );
  }, [list.data]);
  return (
    <Page title="Уведомления">
      {list.loading && <Loading />}
      <ErrorBox error={list.error} />
      {list.data && list.data.items.length === 0 && <p>Уведомлений нет.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul class="cards" aria-label="Уведомления">
          {list.data.items.map((n) => (
            <li class={n.read ? "card" : "card card-unread"} key={n.id} data-read={n.read ? "yes" : "no"}>
              {!n.read && <span class="badge badge-routed">Новое</span>}
              <p>{n.text}</p>
              <p class="meta">
                {fmtDateTime(n.at)} · <a href={`/messages/${n.message_id}`}>открыть сообщение</a>
              </p>
            </li>
          ))}
        </ul>
      )}
      <Pager page={pager.page} next={list.data?.next_cursor} onNext={() => list.data?.next_cursor && pager.next(list.data.next_cursor)} onPrev={pager.prev} />
    </Page>
  );
}

/** A short message number as the platform prints it: region, then six or more digits (`72-000123`). */
export const MESSAGE_NUMBER = /^\d{2}-\d{6,}$/;

/**
 * The message with this short number, through `GET /v1/messages/by-number/{number}`; `null` when
 * there is none. The route is not in this build's API document, so it is called untyped.
 */
export async function findByNumber(number: string): Promise<Message | null> {
  try {
    return await api.get("/v1/messages/by-number/{number}", { path: { number } });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

function QueueSearch(props: { q: string; onSearch: (q: string) => void }) {
  const [text, setText] = useState(props.q);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => setText(props.q), [props.q]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const v = text.trim();
    setError(undefined);
    if (MESSAGE_NUMBER.test(v)) {
      try {
        const m = await findByNumber(v);
        if (m) navigate(`/messages/${m.id}`);
        else setError(`Сообщения с номером ${v} нет. Проверьте номер.`);
      } catch (err) {
        setError(toApiError(err).detail);
      }
      return;
    }
    if (v.length > 100) {
      setError("Поисковый запрос — не длиннее 100 символов.");
      return;
    }
    props.onSearch(v);
  };
  return (
    <form class="filters" role="search" onSubmit={submit} noValidate aria-label="Поиск в очереди">
      <TextInput label="Адрес, слова из текста или номер" value={text} onValue={setText} error={error} autoComplete="off" />
      <div class="field field-button">
        <Button type="submit">Найти</Button>
      </div>
    </form>
  );
}

/** The queue's orders besides the default, nearest deadline first. */
const SORTS: ["newest" | "oldest", string][] = [
  ["newest", "Сначала новые"],
  ["oldest", "Сначала старые"],
];
const SORT_CAPTION: Record<"deadline" | "newest" | "oldest", string> = {
  deadline: "Сообщения по сроку ответа, ближайший первым",
  newest: "Сообщения по времени подачи, новые первыми",
  oldest: "Сообщения по времени подачи, старые первыми",
};

export function Queue() {
  const [status, setStatus] = useQueryFilter("status");
  const [overdueFlag, setOverdue] = useQueryFilter("overdue");
  const [q, setQ] = useQueryFilter("q");
  const [sort, setSort] = useQueryFilter("sort");
  const order = SORTS.find(([k]) => k === sort)?.[0];
  const overdue = overdueFlag === "1";
  const pager = usePager();
  const ref = useLoad(loadReference, []);
  const counts = useLoad(() => api.get("/v1/authority/messages/counts"), []);
  const s = session.value;
  const list = useLoad(
    () =>
      api.get("/v1/authority/messages", {
        query: { status: (status as "all") || undefined, overdue: overdue ? true : undefined, q: q || undefined, sort: order, limit: 20, cursor: pager.cursor },
      }),
    [status, overdue, q, order, pager.cursor],
  );
  const statuses: [string, string][] = [["all", "Все"], ...["routed", "in_progress", "reopened", "answered", "closed", "rejected"].map((k): [string, string] => [k, STATUS[k]])];
  const c = counts.data;
  return (
    <Page title="Очередь сообщений" lead={s?.authority && ref.data ? ref.data.authority(s.authority) : undefined}>
      {c && (
        <p class="queue-counts" data-testid="queue-counts">
          Открытых: <strong>{c.open}</strong>, просрочено: <strong>{c.overdue}</strong> · с ответом: {c.answered}, закрыто: {c.closed}, отклонено: {c.rejected}
        </p>
      )}
      <QueueSearch q={q} onSearch={setQ} />
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Фильтры">
        <Select
          label="Статус"
          value={status}
          onValue={setStatus}
          options={statuses}
          placeholder="Открытые"
        />
        <Select label="Порядок" value={order ?? ""} onValue={setSort} options={SORTS} placeholder="Ближайший срок первым" />
        <label class="checkbox">
          <input
            type="checkbox"
            checked={overdue}
            onChange={(e) => setOverdue((e.target as HTMLInputElement).checked ? "1" : "")}
          />
          Только просроченные
        </label>
      </form>
      {q && list.data && list.data.items.length < 20 && list.data.next_cursor && (
        <p class="hint" role="status">
          Поиск просмотрел часть очереди. Нажмите «Далее →», чтобы искать дальше.
        </p>
      )}
      {list.loading && <Loading />}
      <ErrorBox error={list.error} />
      {list.data && list.data.items.length === 0 && <p>{q ? "Ничего не найдено." : "В очереди нет сообщений."}</p>}
      {list.data && list.data.items.length > 0 && (
        <table class="table queue">
          <caption class="visually-hidden">{SORT_CAPTION[order ?? "deadline"]}</caption>
          <thead>
            <tr>
              <th scope="col">Срок ответа</th>
              <th scope="col">Подано</th>
              <th scope="col">Категория</th>
              <th scope="col">Муниципалитет</th>
              <th scope="col">Статус</th>
              <th scope="col">Текст</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((m) => (
              <tr key={m.id} class={m.overdue ? "row-overdue" : ""}>
                <td data-label="Срок ответа">{m.deadline ? fmtDateTime(m.deadline) : "—"}</td>
                <td data-label="Подано">{fmtDateTime(m.created_at)}</td>
                <td data-label="Категория">
                  <a href={`/messages/${m.id}`}>{ref.data?.category(m.category_id) ?? m.category_id}</a>
                  <div class="meta">№ {messageRef(m)}</div>
                </td>
                <td data-label="Муниципалитет">{ref.data?.municipality(m.municipality_id) ?? m.municipality_id}</td>
                <td data-label="Статус">
                  <StatusBadge status={m.status} overdue={m.overdue} />
                </td>
                <td class="text-cell" data-label="Текст">
                  <div class="clip">{m.text}</div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager page={pager.page} next={list.data?.next_cursor} onNext={() => list.data?.next_cursor && pager.next(list.data.next_cursor)} onPrev={pager.prev} />
    </Page>
  );
}

/** Messages awaiting moderation, oldest first: for the region's moderators and admins. */
export function AwaitingModeration() {
  const pager = usePager();
  const ref = useLoad(loadReference, []);
  const list = useLoad(() => api.get("/v1/moderation/messages", { query: { limit: 20, cursor: pager.cursor } }), [pager.cursor]);
  return (
    <Page title="Сообщения на модерации" lead="Сообщения, которые ещё не направлены в ответственный орган, — старые первыми.">
      {list.loading && <Loading />}
      <ErrorBox error={list.error ?? ref.error} />
      {list.data && list.data.items.length === 0 && <p>Сообщений на модерации нет.</p>}
      {list.data && list.data.items.length > 0 && (
        <ul class="cards" aria-label="Сообщения на модерации">
          {list.data.items.map((m) => (
            <li class="card" key={m.id}>
              <a href={`/messages/${m.id}`} class="card-link">
                {ref.data?.category(m.category_id) ?? m.category_id}
              </a>
              <StatusBadge status={m.status} overdue={m.overdue} />
              <p class="clip">{m.text}</p>
              <p class="meta">
                {fmtDateTime(m.created_at)}
                {m.address ? ` · ${m.address}` : ""}
              </p>
            </li>
          ))}
        </ul>
      )}
      <Pager page={pager.page} next={list.data?.next_cursor} onNext={() => list.data?.next_cursor && pager.next(list.data.next_cursor)} onPrev={pager.prev} />
    </Page>
  );
}
