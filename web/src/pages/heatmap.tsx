// «Карта обращений» for admins, analysts and the ЦУР: every located message of the region, public
// or not (or only the overdue ones), counted by map cell and drawn as a heat layer, with the same
// cells as a table beside it (the map's text twin).

import { useEffect, useRef, useState } from "preact/hooks";
import { api, type Schemas } from "../api";
import { plural } from "../format";
import { MapBox, useMapSettings, type MapModule } from "../map";
import { loadReference } from "../reference";
import { Button, ErrorBox, Loading, Page, Select, useLoad, useQueryFilter } from "../ui";

type Heatmap = Schemas["Heatmap"];
type LeafletMap = import("leaflet").Map;

/** The whole world, for a region without a map: the table then lists the coarsest cells. */
const WORLD = { bbox: "-180,-90,180,90", zoom: 0 };

/** About how large a cell of `precision` is, in words. */
function cellWords(m: MapModule | null, precision: number): string {
  if (!m) return "";
  const s = m.cellSize(precision);
  const km = Math.round(s.lat * 111);
  return km >= 1 ? `около ${km} км` : `около ${Math.round(s.lat * 111_000)} м`;
}

function coordinate(v: number): string {
  return v.toFixed(4).replace(".", ",");
}

export function HeatmapPage() {
  const settings = useMapSettings();
  const ref = useLoad(loadReference, []);
  const [category, setCategory] = useQueryFilter("category");
  const [overdueQuery, setOverdue] = useQueryFilter("overdue");
  const overdue = overdueQuery === "true";
  const [view, setView] = useState<{ bbox: string; zoom: number } | null>(null);
  const mapRef = useRef<{ m: MapModule; map: LeafletMap; layer: import("leaflet").LayerGroup } | null>(null);
  const box = view ?? (settings === null ? WORLD : null);
  const heat = useLoad(
    () =>
      box
        ? api.get("/v1/analytics/heatmap", { query: { bbox: box.bbox, zoom: box.zoom, overdue, ...(category ? { category_id: category } : {}) } })
        : Promise.resolve(null as Heatmap | null),
    [box?.bbox, box?.zoom, category, overdue],
  );

  // Redraw the heat layer whenever the cells change.
  useEffect(() => {
    const at = mapRef.current;
    if (!at || !heat.data) return;
    at.layer.clearLayers();
    for (const c of heat.data.cells) at.m.heatCell({ lat: c.lat, lon: c.lon }, heat.data.precision, c.count, heat.data.max).addTo(at.layer);
  }, [heat.data, mapRef.current]);

  const r = ref.data;
  const data = heat.data;
  const rows = data ? [...data.cells].sort((a, b) => b.count - a.count || a.lat - b.lat || a.lon - b.lon) : [];
  const what = overdue ? "просроченных" : "сообщений";
  const m = mapRef.current?.m ?? null;
  const categories = (r?.categories ?? []).map((c): [string, string] => [c.id, c.parent_id ? `— ${c.name}` : c.name]);

  return (
    <Page title="Карта обращений" lead="Все сообщения жителей с местом, публичные и нет, по ячейкам карты: где их больше, там цвет гуще. Число в ячейке точное и меняется вместе с сообщениями.">
      <form class="filters" aria-label="Фильтры" onSubmit={(e) => e.preventDefault()}>
        <fieldset class="field heat-switch">
          <legend>Показать</legend>
          <label class="radio">
            <input type="radio" name="heat-kind" checked={!overdue} onChange={() => setOverdue("")} />
            Все
          </label>
          <label class="radio">
            <input type="radio" name="heat-kind" checked={overdue} onChange={() => setOverdue("true")} />
            Просроченные
          </label>
        </fieldset>
        <Select label="Категория" value={category} onValue={setCategory} placeholder="Все категории" options={categories} />
      </form>
      {settings === undefined && <Loading />}
      {settings && (
        <MapBox
          settings={settings}
          label="Тепловая карта сообщений. Стрелки двигают карту, плюс и минус меняют масштаб; те же ячейки — в таблице под картой."
          testId="heat-map"
          onReady={(mod, map) => {
            const layer = mod.L.layerGroup().addTo(map);
            mapRef.current = { m: mod, map, layer };
            const moved = () => setView({ bbox: mod.bboxOf(map), zoom: map.getZoom() });
            map.on("moveend", moved);
            moved();
            return () => {
              mapRef.current = null;
            };
          }}
        />
      )}
      {settings === null && <p class="meta">Карта в этом регионе не настроена; ячейки — в таблице ниже.</p>}
      {m && (
        <p class="heat-legend">
          Цвет ячейки: светлее — меньше {what}
          <span class="heat-scale" aria-hidden="true">
            {m.HEAT_COLOURS.map((colour) => (
              <span key={colour} class="heat-swatch" style={{ background: colour }} />
            ))}
          </span>
          темнее — больше
        </p>
      )}
      <ErrorBox error={heat.error} />
      <section aria-labelledby="heat-table-h">
        <h2 id="heat-table-h">{settings ? "Ячейки в видимой части карты" : "Ячейки"}</h2>
        {heat.loading && <Loading />}
        {data && rows.length === 0 && <p data-testid="heat-empty">Здесь {overdue ? "просроченных сообщений" : "сообщений с местом"} нет. Измените фильтры или сдвиньте карту.</p>}
        {data && rows.length > 0 && (
          <div class="table-scroll" tabIndex={0} role="region" aria-label="Таблица ячеек">
            <table class="table heat" data-testid="heat-table">
              <caption>
                {rows.length} {plural(rows.length, "ячейка", "ячейки", "ячеек")}
                {m ? `, сторона ${cellWords(m, data.precision)}` : ""}; всего {what}: {rows.reduce((n, c) => n + c.count, 0)}. Сначала ячейки, где их больше.
              </caption>
              <thead>
                <tr>
                  <th scope="col">Центр ячейки</th>
                  <th scope="col">Муниципалитет</th>
                  <th scope="col">{overdue ? "Просроченных" : "Сообщений"}</th>
                  {settings && <th scope="col">На карте</th>}
                </tr>
              </thead>
              <tbody>
                {rows.map((c) => {
                  const place = `${coordinate(c.lat)}, ${coordinate(c.lon)}`;
                  return (
                    <tr key={`${c.lat},${c.lon}`} data-testid="heat-row">
                      <th scope="row">{place}</th>
                      <td>{r ? r.municipality(c.municipality_id) : c.municipality_id}</td>
                      <td data-testid="heat-count">{c.count}</td>
                      {settings && (
                        <td>
                          <Button
                            kind="link"
                            aria-label={`Приблизить карту к ячейке ${place}`}
                            onClick={() => mapRef.current?.map.setView([c.lat, c.lon], Math.min(18, (mapRef.current?.map.getZoom() ?? 10) + 2))}
                          >
                            Приблизить
                          </Button>
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Page>
  );
}
