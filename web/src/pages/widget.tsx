import { useEffect, useState } from "preact/hooks";
import { messageRef } from "../format";
import { loadConfig, loadReference } from "../reference";
import { useLocation } from "../router";
import { acceptSessionsFromWindows, expired, hasRole, session, signInInWindow, signOut } from "../session";
import { useSignal } from "../signal";
import { Button, ErrorBox, Loading, Success, useLoad } from "../ui";
import { SubmitForm, type Submitted } from "./submit";

/**
 * The embeddable submission form: `/widget?category=dorogi-yamy&authority=adm-tyumen`.
 * An authority's site frames it. Sign-in opens in a window of its own (identity providers refuse
 * to be framed), which hands the session back by postMessage; the session lives in this frame.
 */
export function Widget() {
  const loc = useLocation();
  const s = useSignal(session);
  const isExpired = useSignal(expired);
  const ref = useLoad(loadReference, []);
  const cfg = useLoad(loadConfig, []);
  const [done, setDone] = useState<Submitted | null>(null);
  const category = loc.query.get("category") ?? undefined;
  const authorityId = loc.query.get("authority") ?? undefined;
  useEffect(acceptSessionsFromWindows, []);
  useEffect(() => {
    document.title = "Сообщить о проблеме";
  }, []);
  const r = ref.data;
  const authority = r?.authorities.find((a) => a.id === authorityId);
  const unknownCategory = r && category && !r.categories.some((c) => c.id === category);
  const openLogin = () => signInInWindow(loc.path + window.location.search);
  return (
    <main class="widget" id="main">
      <h1>Сообщить о проблеме</h1>
      {authority && <p class="lead">{authority.name}</p>}
      {(ref.loading || cfg.loading) && <Loading />}
      {isExpired && (
        <div class="alert alert-warn" role="alert">
          <strong>Сеанс истёк.</strong> Войдите снова — введённые данные останутся в форме.{" "}
          <Button kind="secondary" onClick={openLogin}>
            Войти снова
          </Button>
        </div>
      )}
      <ErrorBox error={ref.error ?? cfg.error} />
      {unknownCategory && <div class="alert alert-warn">Категория «{category}» не найдена — выберите её в списке.</div>}
      {done && (
        <Success>
          <p>
            Сообщение № <span class="nowrap">{messageRef(done)}</span> принято. Следить за ответом можно в{" "}
            <a href={`/messages/${done.id}`} target="_blank" rel="noopener">
              личном кабинете
            </a>
            .
          </p>
          <Button kind="secondary" onClick={() => setDone(null)}>
            Написать ещё
          </Button>
        </Success>
      )}
      {!s && r && (
        <p>
          <Button onClick={openLogin}>Войти, чтобы отправить сообщение</Button>
        </p>
      )}
      {s && !hasRole(s, "citizen") && <div class="alert alert-warn">Отправлять сообщения могут только жители.</div>}
      {s && hasRole(s, "citizen") && r && !done && (
        <>
          <p class="meta">
            Вы вошли как {s.name ?? s.sub}.{" "}
            <Button kind="link" onClick={() => signOut()}>
              Выйти
            </Button>
          </p>
          <SubmitForm reference={r} onDone={setDone} presetCategory={unknownCategory ? undefined : category} presetMunicipality={authority?.municipality_id ?? undefined} compact />
        </>
      )}
    </main>
  );
}
