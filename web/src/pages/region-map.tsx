// «Проблемы региона»: the public messages on a map with clustered markers, the same messages as
// a list beside it (the map's text twin), filters kept in the address, and a message's card.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Schemas } from "../api";
import { fmtDate, isoDate, plural, STATUS } from "../format";
import { MapBox, useMapSettings, type MapModule } from "../map";
import { loadReference } from "../reference";
import { Button, ErrorBox, Loading, Page, Select, StatusBadge, useLoad, useQueryFilter } from "../ui";

type PublicMessage = Schemas["PublicMessage"];
type Cluster = Schemas["Cluster"];
type LeafletMap = import("leaflet").Map;

const PERIODS: [string, string][] = [
  ["30", "30 дней"],
  ["90", "3 месяца"],
  ["365", "Год"],
];
type PublicStatus = "routed" | "in_progress" | "answered" | "closed" | "reopened";
const PUBLIC_STATUSES: PublicStatus[] = ["routed", "in_progress", "answered", "reopened", "closed"];

/** `from` of a period of `days` days that ends today. */
function periodFrom(days: string): string | undefined {
  const n = Number(days);
  if (!n) return undefined;
  return isoDate(new Date(Date.now() - (n - 1) * 86_400_000));
}

export function RegionMap() {
  const settings = useMapSettings();
  const ref = useLoad(loadReference, []);
  const [category, setCategory] = useQueryFilter("category");
  const [status, setStatus] = useQueryFilter("status");
  const [periodQuery, setPeriod] = useQueryFilter("period");
  const period = periodQuery || "30";
  const [view, setView] = useState<{ bbox: string; zoom: number } | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [more, setMore] = useState<{ items: PublicMessage[]; next: string | null }>({ items: [], next: null });
  const mapRef = useRef<{ m: MapModule; map: LeafletMap; layer: import("leaflet").LayerGroup } | null>(null);

  const filters = {
    ...(category ? { category_id: category } : {}),
    ...(PUBLIC_STATUSES.includes(status as PublicStatus) ? { status: status as PublicStatus } : {}),
  };
  const from = periodFrom(period);
  const clusters = useLoad(
    () => (view ? api.get("/v1/public/clusters", { query: { bbox: view.bbox, zoom: view.zoom, ...filters } }) : Promise.resolve({ clusters: [] as Cluster[] })),
    [view?.bbox, view?.zoom, category, status],
  );
  const list = useLoad(
    () => api.get("/v1/public/messages", { query: { ...(view ? { bbox: view.bbox } : {}), ...filters, ...(from ? { from } : {}), limit: 50 } }),
    [view?.bbox, category, status, period],
  );
  useEffect(() => setMore({ items: [], next: null }), [list.data]);
  const card = useLoad(() => (selected ? api.get("/v1/public/messages/{id}", { path: { id: selected } }) : Promise.resolve(null)), [selected]);

  // Redraw the clusters whenever they change.
  useEffect(() => {
    const at = mapRef.current;
    if (!at || !clusters.data) return;
    at.layer.clearLayers();
    for (const c of clusters.data.clusters) {
      const label = `${c.count} ${plural(c.count, "сообщение", "сообщения", "сообщений")} здесь; приблизить`;
      at.m
        .clusterMarker({ lat: c.lat, lon: c.lon }, c.count, label, () => at.map.setView([c.lat, c.lon], Math.min(18, at.map.getZoom() + 2)))
        .addTo(at.layer);
    }
  }, [clusters.data, mapRef.current]);

  const items = [...(list.data?.items ?? []), ...more.items];
  const next = more.next ?? list.data?.next_cursor ?? null;
  const r = ref.data;
  const showOnMap = (m: PublicMessage) => {
    setSelected(m.id);
    if (m.location) mapRef.current?.map.setView([m.location.lat, m.location.lon], 16);
  };
  const loadMore = async () => {
    if (!next) return;
    const page = await api.get("/v1/public/messages", { query: { ...(view ? { bbox: view.bbox } : {}), ...filters, ...(from ? { from } : {}), limit: 50, cursor: next } });
    setMore({ items: [...more.items, ...page.items], next: page.next_cursor ?? null });
  };

  return (
    <Page title="Проблемы региона" lead="Публичные сообщения жителей и что с ними стало. Точки на карте смещены до квартала, личные данные в текстах скрыты.">
      <form class="filters" aria-label="Фильтры" onSubmit={(e) => e.preventDefault()}>
        <Select label="Категория" value={category} onValue={setCategory} placeholder="Все категории" options={(r?.categories ?? []).filter((c) => c.parent_id).map((c) => [c.id, c.name])} />
        <Select label="Статус" value={status} onValue={setStatus} placeholder="Любой" options={PUBLIC_STATUSES.map((s) => [s, STATUS[s]])} />
        <Select label="Период списка" value={period} onValue={setPeriod} options={PERIODS} />
      </form>
      {settings === undefined && <Loading />}
      {settings && (
        <MapBox
          settings={settings}
          label="Карта проблем региона. Стрелки двигают карту, плюс и минус меняют масштаб; те же сообщения — в списке под картой."
          testId="region-map"
          onReady={(m, map) => {
            const layer = m.L.layerGroup().addTo(map);
            mapRef.current = { m, map, layer };
            const moved = () => setView({ bbox: m.bboxOf(map), zoom: map.getZoom() });
            map.on("moveend", moved);
            moved();
            return () => {
              mapRef.current = null;
            };
          }}
        />
      )}
      {settings === null && <p class="meta">Карта в этом регионе не настроена; сообщения — в списке ниже.</p>}
      <ErrorBox error={clusters.error ?? list.error} />
      {selected && (
        <section class="panel map-card" aria-labelledby="card-h" data-testid="public-card">
          {card.loading && <Loading />}
          <ErrorBox error={card.error} />
          {card.data && r && (
            <>
              <h2 id="card-h">{r.category(card.data.category_id)}</h2>
              <p>
                <StatusBadge status={card.data.status} /> {r.municipality(card.data.municipality_id)}
                {card.data.authority_id && <> · исполнитель: {r.authority(card.data.authority_id)}</>}
              </p>
              <p class="message-text">{card.data.text}</p>
              <dl class="facts">
                {card.data.number && (
                  <>
                    <dt>Номер</dt>
                    <dd class="nowrap">{card.data.number}</dd>
                  </>
                )}
                <dt>Подано</dt>
                <dd>{fmtDate(card.data.created_at)}</dd>
                {card.data.deadline && (
                  <>
                    <dt>Срок ответа</dt>
                    <dd>{fmtDate(card.data.deadline)}</dd>
                  </>
                )}
                <dt>Поддержали</dt>
                <dd>{card.data.supporters}</dd>
              </dl>
              {card.data.answer && (
                <>
                  <h3>Ответ{card.data.answered_at ? ` от ${fmtDate(card.data.answered_at)}` : ""}</h3>
                  <p class="message-text">{card.data.answer}</p>
                </>
              )}
              <Button kind="secondary" onClick={() => setSelected(null)}>
                Закрыть карточку
              </Button>
            </>
          )}
        </section>
      )}
      <section aria-labelledby="list-h">
        <h2 id="list-h">{settings ? "Сообщения в видимой части карты" : "Сообщения"}</h2>
        {settings && <p class="meta">На карте — все публичные сообщения; в списке — поданные за выбранный период.</p>}
        {list.loading && <Loading />}
        {list.data && items.length === 0 && <p>Здесь публичных сообщений нет. Измените фильтры или сдвиньте карту.</p>}
        {items.length > 0 && r && (
          <ul class="cards" data-testid="public-list">
            {items.map((m) => (
              <li class="card" key={m.id}>
                <p class="card-title">
                  <strong>{r.category(m.category_id)}</strong> <StatusBadge status={m.status} />
                </p>
                <p class="meta">
                  {m.number ? `№ ${m.number} · ` : ""}
                  {r.municipality(m.municipality_id)} · {fmtDate(m.created_at)} · поддержали: {m.supporters}
                </p>
                <p class="excerpt">{m.text.length > 160 ? `${m.text.slice(0, 160)}…` : m.text}</p>
                <Button kind="link" onClick={() => showOnMap(m)} aria-label={`Подробнее${settings ? " и на карте" : ""}: ${r.category(m.category_id)}, ${fmtDate(m.created_at)}`}>
                  Подробнее{settings ? " и на карте" : ""}
                </Button>
              </li>
            ))}
          </ul>
        )}
        {next && (
          <Button kind="secondary" onClick={loadMore}>
            Показать ещё
          </Button>
        )}
      </section>
    </Page>
  );
}
