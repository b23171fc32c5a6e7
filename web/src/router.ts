// Path-based routing over the History API. The host answers every non-API path with the shell.

import { signal, useSignal } from "./signal";

export const location$ = signal(currentLocation());

function currentLocation() {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

window.addEventListener("popstate", () => location$.set(currentLocation()));

/** Goes to `to` as a new history entry (or in place of this one), with an optional `state` the
 * entry keeps (`history.state`). */
export function navigate(to: string, replace = false, state: unknown = null) {
  if (replace) history.replaceState(state, "", to);
  else history.pushState(state, "", to);
  location$.set(currentLocation());
  window.scrollTo(0, 0);
}

export function useLocation() {
  return useSignal(location$);
}

/** This page's address with the query changed by `patch` (a `null` value removes the key). */
export function withQuery(patch: Record<string, string | null>): string {
  const { path, query } = location$.value;
  const q = new URLSearchParams(query);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return path + (s ? `?${s}` : "");
}

/** Matches `/polls/:id` against `/polls/01J…`; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/").filter(Boolean);
  const a = path.split("/").filter(Boolean);
  if (p.length !== a.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) params[p[i].slice(1)] = decodeURIComponent(a[i]);
    else if (p[i] !== a[i]) return null;
  }
  return params;
}

/** Same-origin link clicks go through the router. */
export function onLinkClick(e: MouseEvent) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as HTMLElement).closest("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const href = a.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("//") || href.startsWith("/v1/")) return;
  e.preventDefault();
  navigate(href);
}
