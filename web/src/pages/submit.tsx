import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, uploadPhoto, type Schemas } from "../api";
import type { Category, Reference } from "../reference";
import { session } from "../session";
import { Button, ErrorBox, focusError, Select, TextArea, TextInput, toApiError, useId } from "../ui";
import { PinPicker, useMapSettings } from "../map";
import { fmtDate, plural } from "../format";

export const TEXT_MIN = 10;
export const TEXT_MAX = 4000;
const MAX_PHOTOS = 3;
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;

interface Draft {
  category_id: string;
  text: string;
  municipality_id: string;
  address: string;
  lat: string;
  lon: string;
  public: boolean;
}

interface Photo {
  id: string;
  name: string;
  url: string;
}

const emptyDraft = (municipality = ""): Draft => ({
  category_id: "",
  text: "",
  municipality_id: municipality,
  address: "",
  lat: "",
  lon: "",
  public: false,
});

/** The draft survives failed requests and reloads: it is kept until the message is accepted. */
function useDraft(key: string, initial: Draft): [Draft, (patch: Partial<Draft>) => void, () => void] {
  const [draft, setDraft] = useState<Draft>(() => {
    try {
      const saved = sessionStorage.getItem(key);
      return saved ? { ...initial, ...JSON.parse(saved) } : initial;
    } catch {
      return initial;
    }
  });
  const update = (patch: Partial<Draft>) =>
    setDraft((d) => {
      const next = { ...d, ...patch };
      try {
        sessionStorage.setItem(key, JSON.stringify(next));
      } catch {
        // storage unavailable: the draft stays in memory
      }
      return next;
    });
  const clear = () => {
    try {
      sessionStorage.removeItem(key);
    } catch {
      // see above
    }
    setDraft(initial);
  };
  return [draft, update, clear];
}

const fold = (t: string) => t.toLowerCase().replace(/ё/g, "е");

/** Asks the API which categories `q` (a few words or a message text) most likely means, after
 * `delay` ms without change; `null` while there is nothing to ask or no answer yet. */
function useCategorySearch(q: string, limit: number, delay: number): Schemas["CategoryHit"][] | null {
  const [hits, setHits] = useState<{ q: string; items: Schemas["CategoryHit"][] } | null>(null);
  useEffect(() => {
    if (!q) return;
    let live = true;
    const t = setTimeout(() => {
      api.get("/v1/categories/search", { query: { q, limit } }).then(
        (r) => live && setHits({ q, items: r.items }),
        () => undefined,
      );
    }, delay);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [q, limit, delay]);
  return q && hits?.q === q ? hits.items : null;
}

/**
 * Picks a category: the most frequent ones as tiles, a search that understands everyday words
 * (the API stems Russian and knows each category's keywords; until it answers, names and
 * keywords are matched here), a suggestion from the message text, and the whole tree behind
 * «Все категории».
 */
export function CategoryPicker(props: { categories: Category[]; value: string; onValue: (id: string) => void; error?: string; text?: string }) {
  const [query, setQuery] = useState("");
  const groupName = useId("cat");
  const { groups, children, byId } = useMemo(() => {
    const children = new Map<string, Category[]>();
    for (const c of props.categories) {
      if (c.parent_id) children.set(c.parent_id, [...(children.get(c.parent_id) ?? []), c]);
    }
    return { groups: props.categories.filter((c) => !c.parent_id), children, byId: new Map(props.categories.map((c) => [c.id, c])) };
  }, [props.categories]);
  const leaf = (c: Category) => !children.has(c.id);
  const q = query.trim();
  const found = useCategorySearch(q, 8, 200);
  const local = q
    ? props.categories.filter((c) => leaf(c) && [c.name, ...(c.keywords ?? [])].some((w) => fold(w).includes(fold(q)))).slice(0, 8)
    : [];
  const results = (found ? found.map((h) => byId.get(h.id)).filter((c): c is Category => !!c) : local).filter(leaf);
  const text = (props.text ?? "").trim();
  const suggested = useCategorySearch(!props.value && text.length >= 20 ? text : "", 2, 600);
  const popular = props.categories.filter((c) => c.popular && leaf(c));
  const selected = byId.get(props.value);
  const errId = `${groupName}-err`;
  const parentName = (c: Category) => (c.parent_id ? byId.get(c.parent_id)?.name : undefined);
  return (
    <fieldset class={`field category-picker ${props.error ? "field-invalid" : ""}`} aria-describedby={props.error ? errId : undefined} aria-invalid={props.error ? true : undefined} tabIndex={props.error ? -1 : undefined}>
      <legend>Категория</legend>
      {props.error && (
        <div class="field-error" id={errId}>
          {props.error}
        </div>
      )}
      {popular.length > 0 && (
        <div class="tiles" role="group" aria-label="Частые категории">
          {popular.map((c) => (
            <button type="button" class="tile" key={c.id} aria-pressed={props.value === c.id} onClick={() => props.onValue(c.id)} data-tile={c.id}>
              {c.name}
            </button>
          ))}
        </div>
      )}
      <TextInput label="Поиск категории" type="search" value={query} onValue={setQuery} placeholder="Например, яма или мусор" autoComplete="off" />
      <p class="hint" aria-live="polite">
        {selected ? `Выбрано: ${selected.name}` : "Категория не выбрана"}
        {q ? ` · найдено: ${results.length}` : ""}
      </p>
      {suggested && suggested.length > 0 && !props.value && (
        <p class="suggest" data-testid="category-suggestion">
          Похоже на:{" "}
          {suggested.map((h) => (
            <button type="button" class="btn btn-secondary" key={h.id} onClick={() => props.onValue(h.id)}>
              {h.name}
            </button>
          ))}
        </p>
      )}
      {q && (
        <div class="results" role="radiogroup" aria-label="Найденные категории">
          {results.length === 0 && <p>Ничего не найдено. Скажите иначе или откройте все категории.</p>}
          {results.map((c) => (
            <label class="radio result" key={c.id}>
              <input type="radio" name={groupName} value={c.id} checked={props.value === c.id} onChange={() => props.onValue(c.id)} data-category={c.id} />
              <span>
                {c.name}
                {parentName(c) && <span class="result-group"> · {parentName(c)}</span>}
              </span>
            </label>
          ))}
        </div>
      )}
      <details class="all-categories">
        <summary>Все категории</summary>
        <div class="category-tree">
          {groups.map((g) => {
            const kids = children.get(g.id) ?? [];
            return (
              <div class="category-group" key={g.id}>
                {kids.length === 0 ? (
                  <label class="radio">
                    <input type="radio" name={`${groupName}-all`} value={g.id} checked={props.value === g.id} onChange={() => props.onValue(g.id)} data-tree-category={g.id} />
                    <strong>{g.name}</strong>
                  </label>
                ) : (
                  <div class="category-group-name" aria-hidden="true">
                    {g.name}
                  </div>
                )}
                {kids.map((c) => (
                  <label class="radio" key={c.id}>
                    <input
                      type="radio"
                      name={`${groupName}-all`}
                      value={c.id}
                      checked={props.value === c.id}
                      onChange={() => props.onValue(c.id)}
                      aria-label={`${g.name}: ${c.name}`}
                      data-tree-category={c.id}
                    />
                    {c.name}
                  </label>
                ))}
              </div>
            );
          })}
        </div>
      </details>
    </fieldset>
  );
}

/** A file input whose visible part is a Russian-labelled button; the input itself stays
 * focusable (visually hidden), so the keyboard and screen readers use the native control. */
function PhotoPicker(props: {
  count: number;
  disabled: boolean;
  error?: string;
  inputRef: { current: HTMLInputElement | null };
  onFiles: (files: FileList | null) => void;
}) {
  const id = useId("photos");
  const hint = `${id}-hint`;
  const err = props.error ? `${id}-err` : undefined;
  return (
    <div class={`field photo-picker ${props.error ? "field-invalid" : ""}`}>
      <div class="label-text" id={`${id}-title`}>
        Фотографии
      </div>
      <div class="hint" id={hint}>
        До {MAX_PHOTOS} снимков JPEG или PNG, каждый до 5 МБ. Приложено: {props.count}.
      </div>
      {props.error && (
        <div class="field-error" id={err}>
          {props.error}
        </div>
      )}
      <input
        id={id}
        ref={props.inputRef}
        class="file-input"
        type="file"
        accept="image/jpeg,image/png"
        multiple
        disabled={props.disabled}
        aria-labelledby={`${id}-title ${id}-button`}
        aria-describedby={[err, hint].filter(Boolean).join(" ")}
        aria-invalid={!!props.error || undefined}
        onChange={(e) => props.onFiles((e.target as HTMLInputElement).files)}
      />
      <label for={id} id={`${id}-button`} class={`btn btn-secondary file-button ${props.disabled ? "is-disabled" : ""}`}>
        Выбрать фотографии
      </label>
    </div>
  );
}

export type Submitted = Schemas["MessageView"];

/** The message form. `preset` fixes the category (from the widget's query string). */
export function SubmitForm(props: {
  reference: Reference;
  onDone: (m: Submitted) => void;
  presetCategory?: string;
  presetMunicipality?: string;
  compact?: boolean;
}) {
  const ref = props.reference;
  const s = session.value;
  const draftKey = `feedback.draft.${s?.sub ?? "anon"}${props.compact ? ".widget" : ""}`;
  const [draft, update, clearDraft] = useDraft(draftKey, {
    ...emptyDraft(props.presetMunicipality ?? s?.municipality ?? ""),
    category_id: props.presetCategory ?? "",
  });
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [busy, setBusy] = useState(false);
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [photoError, setPhotoError] = useState<string | undefined>();
  const [geoState, setGeoState] = useState<string>("");
  const [showMap, setShowMap] = useState(false);
  const mapSettings = useMapSettings();
  const attempt = useRef<{ key: string; body: string } | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const errorId = useId("submit-error");

  useEffect(() => {
    if (props.presetCategory) update({ category_id: props.presetCategory });
  }, [props.presetCategory]);

  const fieldError = (name: string) => error?.forField(name);

  const locate = () => {
    if (!("geolocation" in navigator)) {
      setGeoState("Браузер не умеет определять местоположение. Введите координаты вручную.");
      return;
    }
    setGeoState("Определяем местоположение…");
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        update({ lat: pos.coords.latitude.toFixed(6), lon: pos.coords.longitude.toFixed(6) });
        setGeoState(`Координаты определены с точностью около ${Math.round(pos.coords.accuracy)} м.`);
      },
      (err) =>
        setGeoState(
          err.code === err.PERMISSION_DENIED
            ? "Доступ к местоположению запрещён. Введите координаты вручную."
            : "Не удалось определить местоположение. Введите координаты вручную.",
        ),
      { enableHighAccuracy: true, timeout: 15000 },
    );
  };

  const addPhotos = async (files: FileList | null) => {
    if (!files || files.length === 0) return;
    setPhotoError(undefined);
    const room = MAX_PHOTOS - photos.length;
    const list = Array.from(files);
    if (list.length > room) {
      setPhotoError(`Можно приложить не больше ${MAX_PHOTOS} фотографий.`);
    }
    setUploading(true);
    try {
      for (const file of list.slice(0, Math.max(room, 0))) {
        if (!["image/jpeg", "image/png"].includes(file.type)) {
          setPhotoError(`«${file.name}»: подходят только фотографии JPEG или PNG.`);
          continue;
        }
        if (file.size > MAX_PHOTO_BYTES) {
          setPhotoError(`«${file.name}» больше 5 МБ.`);
          continue;
        }
        try {
          const id = await uploadPhoto(file);
          setPhotos((p) => [...p, { id, name: file.name, url: URL.createObjectURL(file) }]);
        } catch (e) {
          const err = toApiError(e);
          setPhotoError(err.forField("size_bytes") ?? err.forField("content_type") ?? err.detail);
        }
      }
    } finally {
      setUploading(false);
      if (fileInput.current) fileInput.current.value = "";
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!draft.category_id) {
      setError(new ApiError(422, "client", "Выберите категорию", "Найдите категорию поиском, выберите частую или подсказанную по тексту.", [{ field: "category_id", message: "Выберите категорию." }]));
      focusError(errorId);
      return;
    }
    const body: Schemas["NewMessageRequest"] = { category_id: draft.category_id, text: draft.text };
    if (draft.municipality_id) body.municipality_id = draft.municipality_id;
    if (draft.address.trim()) body.address = draft.address.trim();
    if (draft.lat.trim() || draft.lon.trim()) {
      const lat = Number(draft.lat.replace(",", "."));
      const lon = Number(draft.lon.replace(",", "."));
      if (!Number.isFinite(lat) || !Number.isFinite(lon) || !draft.lat.trim() || !draft.lon.trim()) {
        setError(new ApiError(422, "client", "Проверьте координаты", "Укажите широту и долготу числами, например 57.153 и 65.534.", [
          { field: "location", message: "широта и долгота — числа, например 57.153 и 65.534" },
        ]));
        focusError(errorId);
        return;
      }
      body.location = { lat, lon };
    }
    if (photos.length) body.photo_ids = photos.map((p) => p.id);
    if (draft.public) body.public = true;
    const json = JSON.stringify(body);
    // A retry of the same body reuses its key, so a lost response never files the message twice.
    if (!attempt.current || attempt.current.body !== json) attempt.current = { key: crypto.randomUUID(), body: json };
    setBusy(true);
    try {
      const created = await api.post("/v1/messages", { body, headers: { "Idempotency-Key": attempt.current.key } });
      attempt.current = null;
      clearDraft();
      setPhotos([]);
      props.onDone(created);
    } catch (err) {
      setError(toApiError(err));
      focusError(errorId);
    } finally {
      setBusy(false);
    }
  };

  const municipalities: [string, string][] = ref.municipalities.map((m) => [m.id, m.name]);
  const shown = ["category_id", "text", "municipality_id", "address", "location", "photo_ids", "public"];
  return (
    <form class="form submit-form" onSubmit={submit} noValidate aria-describedby={error ? errorId : undefined}>
      <ErrorBox error={error} shown={shown} id={errorId} />
      {props.presetCategory && props.compact ? (
        <p class="preset">
          Категория: <strong>{ref.category(props.presetCategory)}</strong>
        </p>
      ) : (
        <CategoryPicker categories={ref.categories} value={draft.category_id} onValue={(v) => update({ category_id: v })} error={fieldError("category_id")} text={draft.text} />
      )}
      <TextArea
        label="Текст сообщения"
        hint={`Опишите проблему: что случилось и где. От ${TEXT_MIN} до ${TEXT_MAX} символов.`}
        value={draft.text}
        onValue={(v) => update({ text: v })}
        min={TEXT_MIN}
        max={TEXT_MAX}
        rows={props.compact ? 4 : 6}
        name="text"
        error={fieldError("text")}
        required
      />
      <div class="grid-2">
        <Select
          label="Муниципальное образование"
          value={draft.municipality_id}
          onValue={(v) => update({ municipality_id: v })}
          options={municipalities}
          placeholder="По месту жительства"
          error={fieldError("municipality_id")}
          name="municipality_id"
        />
        <TextInput label="Адрес" value={draft.address} onValue={(v) => update({ address: v })} error={fieldError("address")} autoComplete="street-address" name="address" />
      </div>
      <fieldset class={`field ${fieldError("location") ? "field-invalid" : ""}`}>
        <legend>Место на карте</legend>
        {fieldError("location") && <div class="field-error">{fieldError("location")}</div>}
        <div class="grid-3">
          <TextInput label="Широта" inputMode="decimal" value={draft.lat} onValue={(v) => update({ lat: v })} placeholder="57.153" name="lat" />
          <TextInput label="Долгота" inputMode="decimal" value={draft.lon} onValue={(v) => update({ lon: v })} placeholder="65.534" name="lon" />
          <div class="field field-button">
            <Button type="button" kind="secondary" onClick={locate}>
              Определить моё местоположение
            </Button>
          </div>
        </div>
        {mapSettings && !props.compact && (
          <Button type="button" kind="link" aria-expanded={showMap} onClick={() => setShowMap(!showMap)}>
            {showMap ? "Скрыть карту" : "Указать место на карте"}
          </Button>
        )}
        {mapSettings && showMap && <PinPicker settings={mapSettings} lat={draft.lat} lon={draft.lon} onPick={(lat, lon) => update({ lat, lon })} />}
        <p class="hint" role="status">
          {geoState}
        </p>
      </fieldset>
      {s?.roles.includes("citizen") && <AlreadyReported reference={ref} category={draft.category_id} lat={draft.lat} lon={draft.lon} />}
      <PhotoPicker
        count={photos.length}
        disabled={photos.length >= MAX_PHOTOS || uploading}
        error={photoError ?? fieldError("photo_ids")}
        inputRef={fileInput}
        onFiles={addPhotos}
      />
      {uploading && <p role="status">Загружаем фотографии…</p>}
      {photos.length > 0 && (
        <ul class="photos" aria-label="Приложенные фотографии">
          {photos.map((p) => (
            <li key={p.id}>
              <img src={p.url} alt={p.name} />
              <Button type="button" kind="link" onClick={() => setPhotos((list) => list.filter((x) => x.id !== p.id))} aria-label={`Убрать фото ${p.name}`}>
                Убрать
              </Button>
            </li>
          ))}
        </ul>
      )}
      <label class="checkbox">
        <input type="checkbox" checked={draft.public} onChange={(e) => update({ public: (e.target as HTMLInputElement).checked })} />
        Разрешить публикацию сообщения в открытых данных (без сведений обо мне)
      </label>
      <div class="actions">
        <Button type="submit" busy={busy} disabled={uploading}>
          {busy ? "Отправляем…" : "Отправить сообщение"}
        </Button>
      </div>
    </form>
  );
}

type Nearby = Schemas["Nearby"];

/**
 * «Уже сообщили рядом»: once the category and the place are chosen, the open public messages of
 * that category within its duplicate radius, each with «Я тоже», so that a resident can join a
 * report instead of filing a duplicate. Joining makes them hear the message's answer.
 */
function AlreadyReported(props: { reference: Reference; category: string; lat: string; lon: string }) {
  const [nearby, setNearby] = useState<Nearby | null>(null);
  const [joined, setJoined] = useState<Record<string, number>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const lat = Number(props.lat.replace(",", "."));
  const lon = Number(props.lon.replace(",", "."));
  const ready = !!props.category && props.lat.trim() !== "" && props.lon.trim() !== "" && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
  useEffect(() => {
    if (!ready) {
      setNearby(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api.get("/v1/messages/nearby", { query: { category_id: props.category, lat, lon } }).then(
        (n) => live && setNearby(n),
        () => live && setNearby(null),
      );
    }, 400);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [props.category, props.lat, props.lon]);
  if (!nearby || (nearby.items.length === 0 && nearby.non_public_count === 0)) return null;
  const join = async (id: string) => {
    setError(null);
    try {
      const r = await api.post("/v1/messages/{id}/supporters", { path: { id } });
      setJoined({ ...joined, [id]: r.supporters });
    } catch (err) {
      setError(toApiError(err));
    }
  };
  return (
    <section class="panel nearby" aria-labelledby="nearby-h" data-testid="nearby">
      <h2 id="nearby-h">Уже сообщили рядом</h2>
      <p class="hint">
        В радиусе {nearby.radius_m} м о такой проблеме уже сообщили. Нажмите «Я тоже», чтобы поддержать сообщение и узнать об ответе, — или
        отправьте своё, если проблема другая.
      </p>
      <ErrorBox error={error} />
      <ul class="cards">
        {nearby.items.map((m) => (
          <li class="card" key={m.id}>
            <p class="meta">
              {props.reference.category(m.category_id)} · {fmtDate(m.created_at)} · поддержали: {joined[m.id] ?? m.supporters}
            </p>
            <p class="excerpt">{m.text.length > 200 ? `${m.text.slice(0, 200)}…` : m.text}</p>
            {joined[m.id] !== undefined ? (
              <p class="ok-text" role="status">
                Вы поддержали это сообщение. Мы сообщим вам об ответе.
              </p>
            ) : (
              <Button type="button" kind="secondary" onClick={() => join(m.id)}>
                Я тоже
              </Button>
            )}
          </li>
        ))}
      </ul>
      {nearby.non_public_count > 0 && (
        <p class="meta">
          И ещё {nearby.non_public_count} {plural(nearby.non_public_count, "сообщение", "сообщения", "сообщений")} рядом, которые их авторы не стали
          публиковать.
        </p>
      )}
    </section>
  );
}
