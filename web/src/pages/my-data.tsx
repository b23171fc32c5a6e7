// «Мои данные»: a resident downloads everything the platform holds about them as one JSON file,
// and has it erased after typing a confirmation word.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Schemas } from "../api";
import { Button, ErrorBox, Page, Success, TextInput, useFormRequest } from "../ui";

/** The word a resident types to confirm the erasure. */
export const CONFIRM_WORD = "УДАЛИТЬ";

const DONE: [keyof Schemas["Erasure"], string][] = [
  ["messages_pseudonymised", "сообщений обезличено"],
  ["supports_withdrawn", "поддержек («Я тоже») снято"],
  ["comments_pseudonymised", "комментариев обезличено"],
  ["flags_pseudonymised", "жалоб на комментарии обезличено"],
  ["photos_deleted", "фотографий удалено"],
  ["notifications_deleted", "уведомлений удалено"],
  ["idempotency_records_deleted", "служебных записей удалено"],
  ["votes_forgotten", "отметок о голосовании в завершённых опросах удалено"],
  ["preferences_deleted", "настроек уведомлений удалено"],
  ["subscriptions_deleted", "подписок удалено"],
  ["push_subscriptions_deleted", "браузеров с уведомлениями отключено"],
  ["contacts_deleted", "адресов для уведомлений удалено"],
  ["deliveries_deleted", "записей об отправке уведомлений удалено"],
];

export function MyData() {
  const download = useFormRequest("download");
  const erase = useFormRequest("erase");
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState("");
  const [done, setDone] = useState<Schemas["Erasure"] | null>(null);
  const confirmRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (confirming) confirmRef.current?.querySelector("input")?.focus();
  }, [confirming]);

  const save = () =>
    download.run(async () => {
      const data = await api.get("/v1/me/data");
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = "moi-dannye.json";
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });

  const remove = (e: Event) => {
    e.preventDefault();
    if (typed.trim() !== CONFIRM_WORD) return;
    erase.run(async () => {
      setDone(await api.delete("/v1/me"));
      setConfirming(false);
      setTyped("");
    });
  };

  return (
    <Page title="Мои данные" lead="Вы можете получить всё, что платформа хранит о вас, и удалить свои данные (152-ФЗ).">
      <section aria-labelledby="export-title">
        <h2 id="export-title">Получить свои данные</h2>
        <p>
          Один файл JSON: ваши сообщения с историей, адресами и ссылками на фотографии, сообщения, которые вы поддержали («Я тоже»), уведомления, комментарии и жалобы на комментарии,
          голосования, в которых вы участвовали (без вашего выбора), настройки уведомлений и подписки, адреса, на которые мы отправляем уведомления
          (электронная почта, телефон для SMS), и последние 1000 отправок: что, каким способом и чем закончилось.
        </p>
        <ErrorBox error={download.error} id={download.errorId} />
        <Button kind="secondary" busy={download.busy} onClick={save}>
          Скачать мои данные
        </Button>
      </section>

      <section aria-labelledby="erase-title">
        <h2 id="erase-title">Удалить свои данные</h2>
        <p>
          Фотографии, уведомления, настройки уведомлений, подписки и служебные записи удаляются. Сообщения и комментарии остаются у органов власти как обращения граждан, но
          без связи с вами: автор заменяется обезличенным идентификатором, номер квартиры убирается из адреса, тексты комментариев
          заменяются словами «комментарий удалён автором». Ваша поддержка («Я тоже») снимается с сообщений, которые вы поддержали. Отметки о голосовании остаются, чтобы нельзя было проголосовать дважды.
        </p>
        {done && (
          <Success>
            <p>
              <strong>Ваши данные удалены.</strong>
            </p>
            <ul data-testid="erasure">
              {DONE.map(([key, label]) => (
                <li key={key}>
                  {label}: {done[key]}
                </li>
              ))}
            </ul>
          </Success>
        )}
        <ErrorBox error={erase.error} id={erase.errorId} />
        {!confirming && (
          <Button kind="danger" onClick={() => setConfirming(true)}>
            Удалить мои данные
          </Button>
        )}
        {confirming && (
          <div class="alert alert-warn" ref={confirmRef} role="group" aria-labelledby="confirm-title">
            <p id="confirm-title">
              <strong>Удаление нельзя отменить.</strong> Чтобы подтвердить, введите слово {CONFIRM_WORD}.
            </p>
            <form onSubmit={remove}>
              <TextInput label="Слово для подтверждения" value={typed} onValue={setTyped} autoComplete="off" />
              <Button kind="danger" type="submit" busy={erase.busy} disabled={typed.trim() !== CONFIRM_WORD}>
                Удалить безвозвратно
              </Button>{" "}
              <Button
                kind="secondary"
                type="button"
                onClick={() => {
                  setConfirming(false);
                  setTyped("");
                }}
              >
                Отмена
              </Button>
            </form>
          </div>
        )}
      </section>
    </Page>
  );
}
