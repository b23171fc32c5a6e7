// «Уведомления и подписки»: a resident chooses how they hear from the platform (channels,
// digest, quiet hours), turns push notifications on in this browser, and chooses which places
// and topics they follow.

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Schemas } from "../api";
import { fmtDateTime } from "../format";
import { loadReference, type Reference } from "../reference";
import { Button, ErrorBox, Loading, Page, Select, Success, TextInput, useFormRequest, useLoad } from "../ui";

type Preferences = Schemas["Preferences"];
type Subscription = Schemas["SubscriptionView"];
type Digest = Preferences["digest"];

const CHANNELS: [keyof Preferences["channels"], string][] = [
  ["email", "Электронная почта"],
  ["push", "Push-уведомления"],
  ["sms", "SMS"],
];

const DIGESTS: [Digest, string][] = [
  ["instant", "Сразу, по каждому событию"],
  ["daily", "Сводкой раз в день"],
  ["weekly", "Сводкой раз в неделю"],
];

/** The most subscriptions a resident keeps; the API refuses the next one. */
export const MAX_SUBSCRIPTIONS = 20;

export function ReachPage() {
  const ref = useLoad(loadReference, []);
  // Turning push on in a browser turns the push channel on: the form then reads it again.
  const [generation, setGeneration] = useState(0);
  return (
    <Page title="Уведомления и подписки" lead="Как сообщать вам о новостях и за какими местами и темами вы следите. Уведомления на портале приходят всегда.">
      <PreferencesForm key={generation} />
      <BrowserPush onEnabled={() => setGeneration((g) => g + 1)} />
      {ref.loading && !ref.data && <Loading />}
      <ErrorBox error={ref.error} />
      {ref.data && <Subscriptions reference={ref.data} />}
    </Page>
  );
}

function PreferencesForm() {
  const loaded = useLoad(() => api.get("/v1/me/preferences"), []);
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [quiet, setQuiet] = useState(false);
  const [from, setFrom] = useState("22:00");
  const [to, setTo] = useState("08:00");
  const [saved, setSaved] = useState(false);
  const save = useFormRequest("prefs");

  useEffect(() => {
    if (!loaded.data) return;
    setPrefs(loaded.data);
    setQuiet(!!loaded.data.quiet_hours);
    if (loaded.data.quiet_hours) {
      setFrom(loaded.data.quiet_hours.from);
      setTo(loaded.data.quiet_hours.to);
    }
  }, [loaded.data]);

  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (!prefs) return <Loading />;

  const submit = (e: Event) => {
    e.preventDefault();
    setSaved(false);
    save.run(async () => {
      const body: Preferences = { channels: prefs.channels, digest: prefs.digest, ...(quiet ? { quiet_hours: { from, to } } : {}) };
      const stored = await api.put("/v1/me/preferences", { body });
      setPrefs(stored);
      setSaved(true);
    });
  };
  const err = save.error;
  return (
    <section aria-labelledby="prefs-title">
      <h2 id="prefs-title">Как сообщать</h2>
      <form onSubmit={submit} noValidate class="form" data-testid="preferences">
        <ErrorBox error={err} shown={["quiet_hours"]} id={save.errorId} />
        <fieldset class="field">
          <legend>Каналы</legend>
          {CHANNELS.map(([key, label]) => (
            <label class="checkbox" key={key}>
              <input
                type="checkbox"
                name={`channel-${key}`}
                checked={prefs.channels[key]}
                onChange={(e) => setPrefs({ ...prefs, channels: { ...prefs.channels, [key]: (e.target as HTMLInputElement).checked } })}
              />
              {label}
            </label>
          ))}
        </fieldset>
        <fieldset class="field">
          <legend>Как часто</legend>
          {DIGESTS.map(([value, label]) => (
            <label class="radio" key={value}>
              <input type="radio" name="digest" value={value} checked={prefs.digest === value} onChange={() => setPrefs({ ...prefs, digest: value })} />
              {label}
            </label>
          ))}
        </fieldset>
        <fieldset class="field">
          <legend>Тихие часы</legend>
          <label class="checkbox">
            <input type="checkbox" name="quiet" checked={quiet} onChange={(e) => setQuiet((e.target as HTMLInputElement).checked)} />
            Не беспокоить в это время
          </label>
          {quiet && (
            <>
              <TextInput label="С (ЧЧ:ММ)" name="quiet-from" inputMode="numeric" value={from} onValue={setFrom} error={err?.forField("quiet_hours.from")} autoComplete="off" />
              <TextInput label="До (ЧЧ:ММ)" name="quiet-to" inputMode="numeric" value={to} onValue={setTo} error={err?.forField("quiet_hours.to")} autoComplete="off" />
            </>
          )}
        </fieldset>
        {saved && (
          <Success>
            <p>Настройки сохранены.</p>
          </Success>
        )}
        <div class="actions">
          <Button type="submit" busy={save.busy}>
            Сохранить настройки
          </Button>
        </div>
      </form>
    </section>
  );
}

/** The push subscription's id as the API makes it: the first 16 bytes of SHA-256 of the endpoint, hex. */
async function pushId(endpoint: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint)));
  return Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const raw = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

const PUSH_SUPPORTED = typeof window !== "undefined" && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
const DENIED_TEXT =
  "Уведомления для этого сайта запрещены в браузере. Разрешите их в настройках сайта (значок слева от адреса), затем нажмите «Включить уведомления в браузере» ещё раз.";

type PushState = { kind: "checking" } | { kind: "off" } | { kind: "on"; id: string };

/** «Уведомления в браузере»: this browser's push subscription, turned on and off. */
function BrowserPush(props: { onEnabled: () => void }) {
  const [state, setState] = useState<PushState>({ kind: "checking" });
  const [notice, setNotice] = useState<string | null>(null);
  const [denied, setDenied] = useState(false);
  const action = useFormRequest("push");

  useEffect(() => {
    if (!PUSH_SUPPORTED) return;
    let live = true;
    (async () => {
      const reg = await navigator.serviceWorker.getRegistration("/");
      const sub = await reg?.pushManager.getSubscription();
      if (!sub) return { kind: "off" } as const;
      const id = await pushId(sub.endpoint);
      const listed = await api.get("/v1/me/push-subscriptions");
      return listed.items.some((s) => s.id === id) ? ({ kind: "on", id } as const) : ({ kind: "off" } as const);
    })().then(
      (s) => live && setState(s),
      () => live && setState({ kind: "off" }),
    );
    return () => {
      live = false;
    };
  }, []);

  const enable = () => {
    setNotice(null);
    setDenied(false);
    action.run(async () => {
      const { public_key } = await api.get("/v1/push/public-key");
      const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
      const permission = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
      if (permission !== "granted") {
        setDenied(true);
        return;
      }
      await navigator.serviceWorker.ready;
      // A subscription this browser already holds may be another resident's (a shared
      // computer): it is dropped, so that a new endpoint carries only this resident's news and
      // the old one's push service answers «gone» to the other's.
      await (await reg.pushManager.getSubscription())?.unsubscribe();
      const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlBytes(public_key) });
      const body = sub.toJSON() as Schemas["PushSubscriptionRequest"];
      const created = await api.post("/v1/me/push-subscriptions", { body });
      setState({ kind: "on", id: created.id });
      setNotice("Уведомления в этом браузере включены, и канал «Push-уведомления» в настройках выше отмечен.");
      props.onEnabled();
    });
  };

  const disable = (id: string) => {
    setNotice(null);
    action.run(async () => {
      await api.delete("/v1/me/push-subscriptions/{id}", { path: { id } }).catch((e: unknown) => {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      });
      const reg = await navigator.serviceWorker.getRegistration("/");
      await (await reg?.pushManager.getSubscription())?.unsubscribe();
      setState({ kind: "off" });
      setNotice("Уведомления в этом браузере выключены.");
    });
  };

  return (
    <section aria-labelledby="push-title" data-testid="browser-push">
      <h2 id="push-title">Уведомления в браузере</h2>
      {!PUSH_SUPPORTED ? (
        <p>Этот браузер не поддерживает push-уведомления: нет Service Worker или Push API. Откройте портал в другом браузере, чтобы включить их.</p>
      ) : (
        <>
          <p>Браузер покажет уведомление, даже когда портал закрыт. Включается отдельно в каждом браузере и на каждом устройстве.</p>
          {notice && (
            <Success>
              <p>{notice}</p>
            </Success>
          )}
          {denied && (
            <div class="alert alert-error" role="alert">
              <p>{DENIED_TEXT}</p>
            </div>
          )}
          <ErrorBox error={action.error} id={action.errorId} />
          {state.kind === "checking" && <Loading />}
          {state.kind === "off" && (
            <div class="actions">
              <Button busy={action.busy} onClick={enable}>
                Включить уведомления в браузере
              </Button>
            </div>
          )}
          {state.kind === "on" && (
            <div class="actions">
              <p data-testid="push-on">
                <strong>Включены в этом браузере</strong>
              </p>
              <Button kind="secondary" busy={action.busy} onClick={() => disable(state.id)}>
                Выключить
              </Button>
            </div>
          )}
        </>
      )}
    </section>
  );
}

type Kind = "municipality" | "point";

function Subscriptions(props: { reference: Reference }) {
  const ref = props.reference;
  const list = useLoad(() => api.get("/v1/me/subscriptions"), []);
  const add = useFormRequest("sub");
  const remove = useFormRequest("unsub");
  const [kind, setKind] = useState<Kind>("municipality");
  const [municipality, setMunicipality] = useState("");
  const [category, setCategory] = useState("");
  const [lat, setLat] = useState("");
  const [lon, setLon] = useState("");
  const [radius, setRadius] = useState("500");
  const [notice, setNotice] = useState<string | null>(null);

  const items: Subscription[] = list.data?.items ?? [];
  const describe = (s: Subscription) => {
    const place = s.municipality_id
      ? ref.municipality(s.municipality_id)
      : s.center
        ? `в радиусе ${s.radius_m} м от точки ${s.center.lat}, ${s.center.lon}`
        : "";
    return `${place}${s.category_id ? ` — ${ref.category(s.category_id)}` : " — все темы"}`;
  };

  const submit = (e: Event) => {
    e.preventDefault();
    setNotice(null);
    add.run(async () => {
      const body: Schemas["SubscriptionRequest"] = { ...(category ? { category_id: category } : {}) };
      if (kind === "municipality") {
        if (municipality) body.municipality_id = municipality;
      } else {
        if (lat.trim() !== "" || lon.trim() !== "") body.center = { lat: Number(lat.replace(",", ".")), lon: Number(lon.replace(",", ".")) };
        if (radius.trim() !== "") body.radius_m = Number(radius);
      }
      await api.post("/v1/me/subscriptions", { body });
      setNotice("Подписка добавлена.");
      list.reload();
    });
  };

  const unsubscribe = (s: Subscription) =>
    remove.run(async () => {
      await api.delete("/v1/me/subscriptions/{id}", { path: { id: s.id } });
      setNotice("Подписка удалена.");
      list.reload();
    });

  const err = add.error;
  return (
    <section aria-labelledby="subs-title">
      <h2 id="subs-title">Подписки на места и темы</h2>
      <p>Вы узнаете о публичных сообщениях в выбранном месте. Можно держать не больше {MAX_SUBSCRIPTIONS} подписок.</p>
      {notice && (
        <Success>
          <p>{notice}</p>
        </Success>
      )}
      <ErrorBox error={remove.error} id={remove.errorId} />
      {list.loading && !list.data && <Loading />}
      <ErrorBox error={list.error} />
      {list.data && items.length === 0 && <p>Подписок пока нет.</p>}
      {items.length > 0 && (
        <ul class="cards" data-testid="subscriptions" aria-label="Мои подписки">
          {items.map((s) => (
            <li key={s.id} class="card">
              <span>{describe(s)}</span> <span class="meta">с {fmtDateTime(s.created_at)}</span>{" "}
              <Button kind="secondary" busy={remove.busy} onClick={() => unsubscribe(s)} aria-label={`Удалить подписку: ${describe(s)}`}>
                Удалить
              </Button>
            </li>
          ))}
        </ul>
      )}

      <h3 id="add-title">Добавить подписку</h3>
      <form onSubmit={submit} noValidate class="form" aria-labelledby="add-title" data-testid="subscribe">
        <ErrorBox error={err} shown={["municipality_id", "category_id", "center", "radius_m"]} id={add.errorId} />
        <fieldset class="field">
          <legend>Место</legend>
          <label class="radio">
            <input type="radio" name="kind" value="municipality" checked={kind === "municipality"} onChange={() => setKind("municipality")} />
            По муниципальному образованию
          </label>
          <label class="radio">
            <input type="radio" name="kind" value="point" checked={kind === "point"} onChange={() => setKind("point")} />
            По точке и радиусу
          </label>
        </fieldset>
        {kind === "municipality" ? (
          <Select
            label="Муниципальное образование"
            name="municipality"
            value={municipality}
            onValue={setMunicipality}
            placeholder="Выберите"
            options={ref.municipalities.map((m) => [m.id, m.name])}
            error={err?.forField("municipality_id")}
          />
        ) : (
          <>
            <TextInput label="Широта" name="lat" inputMode="decimal" value={lat} onValue={setLat} hint="Например, 57.153" error={err?.forField("center")} autoComplete="off" />
            <TextInput label="Долгота" name="lon" inputMode="decimal" value={lon} onValue={setLon} hint="Например, 65.541" autoComplete="off" />
            <TextInput label="Радиус, м" name="radius" type="number" min="100" max="5000" step="50" inputMode="numeric" value={radius} onValue={setRadius} hint="От 100 до 5000 метров" error={err?.forField("radius_m")} />
          </>
        )}
        <Select
          label="Тема"
          name="category"
          value={category}
          onValue={setCategory}
          placeholder="Все темы"
          options={ref.categories.map((c) => [c.id, c.name])}
          error={err?.forField("category_id")}
        />
        <div class="actions">
          <Button type="submit" busy={add.busy} disabled={items.length >= MAX_SUBSCRIPTIONS}>
            Подписаться
          </Button>
        </div>
      </form>
    </section>
  );
}
