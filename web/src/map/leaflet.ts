// Leaflet and its styles, in a chunk of their own that only map pages load (`loadMap`).

import L from "leaflet";
import "leaflet/dist/leaflet.css";

/** The region file's `[map]`, as `/config.json` carries it. */
export interface MapSettings {
  tiles_url: string;
  attribution: string;
  center: [number, number];
  zoom: number;
}

export type LatLon = { lat: number; lon: number };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * A map in `el` over the region's tiles, with their attribution. Leaflet makes the container
 * focusable: arrows pan, + and − zoom. `label` names it for screen readers.
 */
export function openMap(el: HTMLElement, settings: MapSettings, label: string, at?: LatLon, zoom?: number): L.Map {
  const map = L.map(el, {
    center: at ? [at.lat, at.lon] : settings.center,
    zoom: zoom ?? settings.zoom,
    keyboard: true,
    attributionControl: false,
  });
  L.control.attribution({ prefix: false }).addAttribution(escapeHtml(settings.attribution)).addTo(map);
  L.tileLayer(settings.tiles_url, { maxZoom: 18, minZoom: 3 }).addTo(map);
  el.setAttribute("role", "application");
  el.setAttribute("aria-label", label);
  el.setAttribute("aria-roledescription", "карта");
  return map;
}

/** The map's visible box as the API's `bbox`: `minLon,minLat,maxLon,maxLat`. */
export function bboxOf(map: L.Map): string {
  const b = map.getBounds();
  const clamp = (v: number, lim: number) => Math.max(-lim, Math.min(lim, v));
  return [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)].map((v) => v.toFixed(5)).join(",");
}

/** A cluster of `count` messages: a round badge, larger for more, that zooms in when chosen. */
export function clusterMarker(at: LatLon, count: number, label: string, onChoose: () => void): L.Marker {
  const size = count >= 100 ? 48 : count >= 10 ? 40 : 32;
  const icon = L.divIcon({
    className: "map-cluster",
    html: `<span aria-hidden="true">${count}</span>`,
    iconSize: [size, size],
  });
  const marker = L.marker([at.lat, at.lon], { icon, title: label, alt: label, keyboard: true, riseOnHover: true });
  marker.on("click", onChoose);
  marker.on("add", () => {
    const el = marker.getElement();
    if (!el) return;
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", label);
    // Enter or Space on the focused cluster does what a click does.
    el.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" && e.key !== " ") return;
      e.preventDefault();
      e.stopPropagation();
      onChoose();
    });
  });
  return marker;
}

/** The size of a geohash cell of `precision` characters, in degrees of latitude and longitude. */
export function cellSize(precision: number): { lat: number; lon: number } {
  const bits = 5 * precision;
  return { lat: 180 / 2 ** Math.floor(bits / 2), lon: 360 / 2 ** Math.ceil(bits / 2) };
}

/** The heat scale, from few messages to many (ColorBrewer OrRd, readable on the tiles). */
export const HEAT_COLOURS = ["#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"];

/** The colour step of `count` out of `max`: square-root scaled, so a few hot cells do not wash out the rest. */
export function heatStep(count: number, max: number): number {
  if (max <= 0) return 0;
  return Math.min(HEAT_COLOURS.length - 1, Math.floor(Math.sqrt(count / max) * HEAT_COLOURS.length - 1e-9));
}

/** One cell of a heat map: a rectangle of the cell's size around its centre, coloured by its step. */
export function heatCell(at: LatLon, precision: number, count: number, max: number): L.Rectangle {
  const size = cellSize(precision);
  const bounds = L.latLngBounds([at.lat - size.lat / 2, at.lon - size.lon / 2], [at.lat + size.lat / 2, at.lon + size.lon / 2]);
  const colour = HEAT_COLOURS[heatStep(count, max)];
  return L.rectangle(bounds, { color: colour, weight: 1, fillColor: colour, fillOpacity: 0.6, interactive: false });
}

/** The pin of a place being chosen: draggable with the mouse or a finger. */
export function pinMarker(at: LatLon, onMove: (at: LatLon) => void): L.Marker {
  const icon = L.divIcon({ className: "map-pin", html: '<span aria-hidden="true"></span>', iconSize: [28, 28], iconAnchor: [14, 28] });
  const marker = L.marker([at.lat, at.lon], { icon, draggable: true, title: "Место проблемы", alt: "Место проблемы", keyboard: false });
  marker.on("dragend", () => {
    const p = marker.getLatLng();
    onMove({ lat: p.lat, lon: p.lng });
  });
  return marker;
}

export { L };
