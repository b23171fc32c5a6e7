import { useState } from "preact/hooks";
import { api, type ApiError, type Schemas } from "../api";
import { Button, ErrorBox, focusError, Loading, Page, Success, TextArea, TextInput, toApiError, useId, useLoad } from "../ui";

type Template = Schemas["TemplateView"];

/** The authority's ready-made answers: officials add, change and delete them here and pick
 * them in the answer form of a message. */
export function TemplatesPage() {
  const [version, setVersion] = useState(0);
  const list = useLoad(() => api.get("/v1/authority/templates"), [version]);
  const [editing, setEditing] = useState<Template | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const errorId = useId("tpl-error");
  const reload = (text: string) => {
    setDone(text);
    setEditing(null);
    setVersion((v) => v + 1);
  };
  const remove = async (t: Template) => {
    setError(null);
    try {
      await api.delete("/v1/authority/templates/{id}", { path: { id: t.id } });
      reload(`Шаблон «${t.title}» удалён.`);
    } catch (e) {
      setError(toApiError(e));
      focusError(errorId);
    }
  };
  const items = list.data?.items ?? [];
  return (
    <Page title="Шаблоны ответов" lead="Готовые ответы вашего органа власти: выберите шаблон в форме ответа на сообщение и при необходимости измените текст перед отправкой.">
      {done && <Success>{done}</Success>}
      <ErrorBox error={error ?? list.error} id={errorId} />
      <TemplateForm key={editing?.id ?? "new"} template={editing} onDone={reload} onCancel={() => setEditing(null)} />
      <section aria-labelledby="tpl-list-h">
        <h2 id="tpl-list-h">Шаблоны органа ({items.length} из 100)</h2>
        {list.loading && <Loading />}
        {!list.loading && items.length === 0 && <p>Шаблонов пока нет.</p>}
        <ul class="templates" data-testid="templates">
          {items.map((t) => (
            <li key={t.id} class="panel">
              <h3>{t.title}</h3>
              <p class="message-text">{t.text}</p>
              <div class="actions">
                <Button type="button" kind="secondary" onClick={() => setEditing(t)} aria-label={`Изменить шаблон «${t.title}»`}>
                  Изменить
                </Button>
                <Button type="button" kind="danger" onClick={() => remove(t)} aria-label={`Удалить шаблон «${t.title}»`}>
                  Удалить
                </Button>
              </div>
            </li>
          ))}
        </ul>
      </section>
    </Page>
  );
}

function TemplateForm(props: { template: Template | null; onDone: (text: string) => void; onCancel: () => void }) {
  const t = props.template;
  const [title, setTitle] = useState(t?.title ?? "");
  const [text, setText] = useState(t?.text ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const errorId = useId("tpl-form-error");
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { title, text };
      if (t) {
        await api.put("/v1/authority/templates/{id}", { path: { id: t.id }, body });
        props.onDone(`Шаблон «${title.trim()}» сохранён.`);
      } else {
        await api.post("/v1/authority/templates", { body });
        props.onDone(`Шаблон «${title.trim()}» добавлен.`);
      }
    } catch (err) {
      setError(toApiError(err));
      focusError(errorId);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form panel" noValidate onSubmit={submit} aria-labelledby="tpl-form-h">
      <h2 id="tpl-form-h">{t ? `Изменить шаблон «${t.title}»` : "Новый шаблон"}</h2>
      <ErrorBox error={error} shown={["title", "text"]} id={errorId} />
      <TextInput label="Название" hint="До 100 символов, например «Яма заделана»." value={title} onValue={setTitle} error={error?.forField("title")} maxLength={100} />
      <TextArea label="Текст ответа" value={text} onValue={setText} min={10} max={4000} error={error?.forField("text")} name="template-text" />
      <div class="actions">
        <Button type="submit" busy={busy}>
          {t ? "Сохранить шаблон" : "Добавить шаблон"}
        </Button>
        {t && (
          <Button type="button" kind="link" onClick={props.onCancel}>
            Отменить
          </Button>
        )}
      </div>
    </form>
  );
}
