// A map component over the lazily loaded Leaflet chunk, and what it needs from the configuration.

import { useEffect, useRef, useState } from "preact/hooks";
import { loadConfig } from "../reference";
import type { MapSettings } from "./leaflet";

export type MapModule = typeof import("./leaflet");
let leaflet: Promise<MapModule> | null = null;

/** Leaflet, loaded once, on the first map. */
export function loadMap(): Promise<MapModule> {
  leaflet ??= import("./leaflet").catch((e) => {
    leaflet = null;
    throw e;
  });
  return leaflet;
}

/** The region's map settings, or null when the region has no map. */
export function useMapSettings(): MapSettings | null | undefined {
  const [settings, setSettings] = useState<MapSettings | null | undefined>(undefined);
  useEffect(() => {
    loadConfig().then(
      (c) => setSettings((c.region as { map?: MapSettings } | null | undefined)?.map ?? null),
      () => setSettings(null),
    );
  }, []);
  return settings;
}

/**
 * A map box: `onReady` gets Leaflet and the map once both exist, and returns what to undo when
 * the box goes away. While Leaflet loads the box says so; if it cannot load, the page still works
 * without it (every map has a list or fields beside it).
 */
export function MapBox(props: {
  settings: MapSettings;
  label: string;
  class?: string;
  testId?: string;
  onReady: (m: MapModule, map: import("leaflet").Map) => (() => void) | void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"loading" | "ready" | "failed">("loading");
  useEffect(() => {
    let undo: (() => void) | void;
    let map: import("leaflet").Map | null = null;
    let live = true;
    loadMap().then(
      (m) => {
        if (!live || !box.current) return;
        map = m.openMap(box.current, props.settings, props.label);
        undo = props.onReady(m, map);
        setState("ready");
      },
      () => live && setState("failed"),
    );
    return () => {
      live = false;
      if (undo) undo();
      map?.remove();
    };
  }, []);
  return (
    <div class={`map-wrap ${props.class ?? ""}`}>
      <div ref={box} class="map" data-testid={props.testId} />
      {state === "loading" && <p class="map-note">Загружаем карту…</p>}
      {state === "failed" && <p class="map-note">Карта не загрузилась; пользуйтесь списком и полями ниже.</p>}
    </div>
  );
}

/**
 * A map to choose a place on: a pin that the mouse or a finger drags, a tap or click that moves
 * it, and for the keyboard a button that puts it in the centre of the map (arrows move the map).
 * Each move reports coordinates with six decimals; coordinates typed elsewhere move the pin.
 */
export function PinPicker(props: { settings: MapSettings; lat: string; lon: string; onPick: (lat: string, lon: string) => void }) {
  const api = useRef<{ map: import("leaflet").Map; pin: import("leaflet").Marker } | null>(null);
  const typed = (): { lat: number; lon: number } | null => {
    const lat = Number(props.lat.replace(",", "."));
    const lon = Number(props.lon.replace(",", "."));
    return props.lat.trim() && props.lon.trim() && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 ? { lat, lon } : null;
  };
  const pick = (at: { lat: number; lon: number }) => props.onPick(at.lat.toFixed(6), at.lon.toFixed(6));
  useEffect(() => {
    const at = typed();
    const current = api.current;
    if (!at || !current) return;
    const p = current.pin.getLatLng();
    if (Math.abs(p.lat - at.lat) > 1e-6 || Math.abs(p.lng - at.lon) > 1e-6) {
      current.pin.setLatLng([at.lat, at.lon]);
      current.map.panTo([at.lat, at.lon]);
    }
  }, [props.lat, props.lon]);
  return (
    <div class="pin-picker">
      <MapBox
        settings={props.settings}
        label="Карта для выбора места. Стрелки двигают карту; кнопка под картой ставит метку в её центр."
        testId="pin-map"
        onReady={(m, map) => {
          const start = typed() ?? { lat: map.getCenter().lat, lon: map.getCenter().lng };
          if (typed()) map.setView([start.lat, start.lon], 16);
          const pin = m.pinMarker(start, (at) => pick(at)).addTo(map);
          map.on("click", (e: import("leaflet").LeafletMouseEvent) => {
            pin.setLatLng(e.latlng);
            pick({ lat: e.latlng.lat, lon: e.latlng.lng });
          });
          api.current = { map, pin };
          if (!typed()) pick(start);
          return () => {
            api.current = null;
          };
        }}
      />
      <button
        type="button"
        class="btn btn-secondary"
        onClick={() => {
          const current = api.current;
          if (!current) return;
          const c = current.map.getCenter();
          current.pin.setLatLng(c);
          pick({ lat: c.lat, lon: c.lng });
        }}
      >
        Поставить метку в центр карты
      </button>
    </div>
  );
}
