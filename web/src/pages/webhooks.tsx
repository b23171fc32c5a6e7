// The region admin's webhook endpoints: create one (its secret shown once), list them, disable
// one, and read an endpoint's delivery log with «Отправить повторно».

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Schemas } from "../api";
import { fmtDateTime } from "../format";
import { loadReference } from "../reference";
import { Button, ErrorBox, Loading, Page, Select, Success, TextInput, useFormRequest, useLoad } from "../ui";

type EventType = Schemas["EventType"];
type Endpoint = Schemas["WebhookView"];
type Delivery = Schemas["DeliveryView"];

export const EVENT_LABEL: Record<EventType, string> = {
  "message.submitted": "Сообщение подано",
  "message.routed": "Сообщение направлено в орган власти",
  "message.in_progress": "Сообщение взято в работу",
  "message.answered": "На сообщение дан ответ",
  "message.closed": "Сообщение закрыто",
  "message.rejected": "Сообщение отклонено",
  "message.overdue": "Срок ответа просрочен",
  "poll.opened": "Голосование открыто",
  "poll.closed": "Голосование завершено",
};
const EVENTS = Object.keys(EVENT_LABEL) as EventType[];

const DELIVERY_STATUS: Record<Delivery["status"], string> = {
  pending: "Ожидает отправки",
  delivered: "Доставлено",
  dead: "Не доставлено",
};

const ERROR_CLASS: Record<string, string> = {
  timeout: "нет ответа за 10 секунд",
  connect: "не удалось соединиться",
  dns: "имя не найдено",
  refused_address: "адрес запрещён",
  other: "другая ошибка",
};

function eventLabel(t: string): string {
  return EVENT_LABEL[t as EventType] ?? t;
}

function lastResult(d: Delivery): string {
  const r = d.last_result;
  if (!r) return "попыток ещё не было";
  if (r.kind === "status") return `HTTP ${r.status}`;
  return `ошибка: ${ERROR_CLASS[r.class] ?? r.class}`;
}

function endpointState(e: Endpoint): string {
  if (!e.enabled && e.disabled_reason === "failing")
    return `Отключена платформой ${fmtDateTime(e.disabled_at)}: доставки не проходили 24 часа подряд`;
  if (!e.enabled && e.disabled_reason === "admin")
    return `Отключена администратором ${fmtDateTime(e.disabled_at)}`;
  if (!e.enabled) return `Отключена с ${fmtDateTime(e.disabled_at)}`;
  if (e.failing_since) return `Включена; доставки не проходят с ${fmtDateTime(e.failing_since)}`;
  return `Включена с ${fmtDateTime(e.created_at)}`;
}

/** The secret of an endpoint just created: shown once, with a copy button. */
function SecretOnce(props: { created: Schemas["CreatedWebhookView"] }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), [props.created.id]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.created.secret);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div class="alert alert-warn" role="alert" tabIndex={-1} ref={box} data-testid="webhook-secret">
      <p>
        <strong>Сохраните секрет сейчас: он больше не будет показан.</strong> Им получатель проверяет подпись
        каждого запроса (Standard Webhooks) к {props.created.url}.
      </p>
      <p>
        <code aria-label="Секрет подписи">{props.created.secret}</code>
      </p>
      <Button kind="secondary" type="button" onClick={copy}>
        Скопировать секрет
      </Button>
      <span role="status">{copied === true ? " Секрет скопирован." : copied === false ? " Скопировать не удалось: выделите секрет и скопируйте вручную." : ""}</span>
    </div>
  );
}

function NewEndpointForm(props: { onCreated: (c: Schemas["CreatedWebhookView"]) => void }) {
  const ref = useLoad(loadReference, []);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<EventType[]>([]);
  const [authority, setAuthority] = useState("");
  const form = useFormRequest("webhook-error");
  const submit = async (e: Event) => {
    e.preventDefault();
    const problems: { field: string; message: string }[] = [];
    if (!url.trim()) problems.push({ field: "url", message: "Укажите адрес получателя." });
    if (!events.length) problems.push({ field: "events", message: "Выберите хотя бы одно событие." });
    if (problems.length) {
      form.fail(new ApiError(422, "client", "Проверьте форму", "Некоторые поля заполнены неверно.", problems));
      return;
    }
    await form.run(async () => {
      const created = await api.post("/v1/webhooks", { body: { url: url.trim(), events, authority_id: authority || null } });
      setUrl("");
      setEvents([]);
      setAuthority("");
      props.onCreated(created);
    });
  };
  const err = form.error;
  const eventsError = err?.errors.find((x) => x.field === "events" || x.field.startsWith("events["))?.message;
  const authorities: [string, string][] = (ref.data?.authorities ?? []).map((a) => [a.id, a.name]);
  return (
    <form class="form" onSubmit={submit} noValidate data-testid="new-webhook">
      <ErrorBox error={err} shown={["url", "events", "authority_id"]} id={form.errorId} />
      <TextInput label="Адрес получателя (URL)" hint="https:// и публичный адрес" type="url" value={url} onValue={setUrl} error={err?.forField("url")} autoComplete="off" inputMode="url" />
      <fieldset class={`field ${eventsError ? "field-invalid" : ""}`}>
        <legend>События</legend>
        {eventsError && <div class="field-error">{eventsError}</div>}
        {EVENTS.map((t) => (
          <label class="checkbox" key={t}>
            <input
              type="checkbox"
              name={`event-${t}`}
              checked={events.includes(t)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                setEvents((list) => (on ? [...list, t] : list.filter((x) => x !== t)));
              }}
            />
            {EVENT_LABEL[t]}
          </label>
        ))}
      </fieldset>
      <Select
        label="Орган власти"
        hint="Только события о сообщениях этого органа; без выбора — все события региона."
        value={authority}
        onValue={setAuthority}
        options={authorities}
        placeholder="Все органы власти"
        error={err?.forField("authority_id")}
      />
      <Button type="submit" busy={form.busy}>
        Создать получателя
      </Button>
    </form>
  );
}

/** `/admin/webhooks`: the endpoints and the form for a new one. */
export function WebhooksPage() {
  const list = useLoad(() => api.get("/v1/webhooks"), []);
  const ref = useLoad(loadReference, []);
  const [created, setCreated] = useState<Schemas["CreatedWebhookView"] | null>(null);
  const items = list.data?.items ?? [];
  return (
    <Page title="Вебхуки" lead="Внешние системы получают события платформы подписанными HTTP-запросами.">
      {created && <SecretOnce created={created} />}
      <section aria-labelledby="webhooks-list">
        <h2 id="webhooks-list">Получатели</h2>
        {list.loading && !list.data && <Loading />}
        <ErrorBox error={list.error} />
        {list.data && items.length === 0 && <p>Получателей пока нет.</p>}
        {items.length > 0 && (
          <ul class="cards" data-testid="webhooks">
            {items.map((e) => (
              <li class="card" key={e.id}>
                <a class="card-link" href={`/admin/webhooks/${encodeURIComponent(e.id)}`}>
                  <code>{e.url}</code>
                </a>
                <p>{endpointState(e)}</p>
                <p>События: {e.events.map(eventLabel).join(", ")}</p>
                <p>Орган власти: {e.authority_id ? ref.data?.authority(e.authority_id) ?? e.authority_id : "все"}</p>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="webhooks-new">
        <h2 id="webhooks-new">Новый получатель</h2>
        <NewEndpointForm
          onCreated={(c) => {
            setCreated(c);
            list.reload();
          }}
        />
      </section>
    </Page>
  );
}

/** `/admin/webhooks/{id}`: one endpoint, its disabling and its delivery log. */
export function WebhookDetail(props: { id: string }) {
  const endpoint = useLoad(() => api.get("/v1/webhooks/{id}", { path: { id: props.id } }), [props.id]);
  const log = useLoad(() => api.get("/v1/webhooks/{id}/deliveries", { path: { id: props.id } }), [props.id]);
  const ref = useLoad(loadReference, []);
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const action = useFormRequest("webhook-action");
  const confirmRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (confirming) confirmRef.current?.querySelector<HTMLButtonElement>("button")?.focus();
  }, [confirming]);
  const e = endpoint.data;
  const disable = () =>
    action.run(async () => {
      await api.post("/v1/webhooks/{id}/disable", { path: { id: props.id } });
      setConfirming(false);
      setDone("Получатель отключён: новые события ему не отправляются.");
      endpoint.reload();
    });
  const redeliver = (d: Delivery) =>
    action.run(async () => {
      await api.post("/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", { path: { id: props.id, delivery_id: d.id } });
      setDone(`Событие «${eventLabel(d.event_type)}» поставлено в очередь на повторную отправку.`);
      log.reload();
    });
  return (
    <Page title="Получатель вебхуков">
      <p>
        <a href="/admin/webhooks">← Все получатели</a>
      </p>
      {endpoint.loading && !e && <Loading />}
      <ErrorBox error={endpoint.error} />
      <ErrorBox error={action.error} id={action.errorId} />
      {done && <Success>{done}</Success>}
      {e && (
        <section aria-labelledby="endpoint-title" class="card">
          <h2 id="endpoint-title">
            <code>{e.url}</code>
          </h2>
          <p data-testid="endpoint-state">{endpointState(e)}</p>
          <p>События: {e.events.map(eventLabel).join(", ")}</p>
          <p>Орган власти: {e.authority_id ? ref.data?.authority(e.authority_id) ?? e.authority_id : "все"}</p>
          {e.enabled && !confirming && (
            <Button kind="danger" type="button" onClick={() => setConfirming(true)}>
              Отключить
            </Button>
          )}
          {e.enabled && confirming && (
            <div class="alert alert-warn" ref={confirmRef} role="group" aria-labelledby="disable-title">
              <p id="disable-title">
                <strong>Отключить получателя?</strong> Новые события ему отправляться не будут; включить его снова нельзя — только создать заново.
              </p>
              <Button kind="danger" type="button" busy={action.busy} onClick={disable}>
                Да, отключить
              </Button>{" "}
              <Button kind="secondary" type="button" onClick={() => setConfirming(false)}>
                Отмена
              </Button>
            </div>
          )}
        </section>
      )}
      <section aria-labelledby="log-title">
        <h2 id="log-title">Журнал доставки</h2>
        <p>
          <Button kind="secondary" type="button" onClick={() => log.reload()} busy={log.loading}>
            Обновить журнал
          </Button>
        </p>
        <ErrorBox error={log.error} />
        {log.data && log.data.items.length === 0 && <p>Доставок пока не было.</p>}
        {log.data && log.data.items.length > 0 && (
          <ul class="cards" data-testid="deliveries">
            {log.data.items.map((d) => (
              <li class="card" key={d.id} data-status={d.status}>
                <p>
                  <strong>{eventLabel(d.event_type)}</strong> — {DELIVERY_STATUS[d.status]}
                </p>
                <p>
                  Событие: <code>{d.event_id}</code>
                </p>
                <p>
                  Попыток: {d.attempts}; последний результат: {lastResult(d)}
                </p>
                <p>
                  Создано {fmtDateTime(d.created_at)}, изменено {fmtDateTime(d.updated_at)}
                  {d.next_attempt_at ? `; следующая попытка ${fmtDateTime(d.next_attempt_at)}` : ""}
                </p>
                {e?.enabled && (
                  <Button kind="secondary" type="button" busy={action.busy} onClick={() => redeliver(d)} aria-label={`Отправить повторно: ${eventLabel(d.event_type)}, ${d.event_id}`}>
                    Отправить повторно
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
    </Page>
  );
}
