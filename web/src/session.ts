// Who is signed in: the bearer token and the claims read from it. Kept in sessionStorage, so
// closing the last tab signs out; the widget, framed on another site, receives it by postMessage.
// Tabs of the portal share the sign-in over a same-origin BroadcastChannel: a new tab (a link
// opened in a new tab, a message opened from a notification) asks the open ones for their
// session, and signing out in one tab signs that person out in every tab. Nothing leaves the
// origin: a channel is only ever heard by pages of the same origin, and a framed widget's
// channel is partitioned under the framing site.

import { signal } from "./signal";

export type Role = "citizen" | "official" | "moderator" | "admin" | "analyst";

export interface Session {
  token: string;
  sub: string;
  name?: string;
  roles: Role[];
  municipality?: string;
  authority?: string;
  exp?: number;
}

const KEY = "feedback.session";

function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function parseRoles(raw: unknown): Role[] {
  if (Array.isArray(raw)) return raw.map(String) as Role[];
  if (typeof raw === "string") return raw.replace(/^\[|\]$/g, "").split(/[\s,]+/).filter(Boolean) as Role[];
  return [];
}

export function sessionFromToken(token: string, name?: string): Session {
  const c = decodeClaims(token);
  return {
    token,
    sub: String(c.sub ?? ""),
    name: name ?? (typeof c.name === "string" ? c.name : undefined),
    roles: parseRoles(c.roles),
    municipality: typeof c.municipality === "string" ? c.municipality : undefined,
    authority: typeof c.authority === "string" ? c.authority : undefined,
    exp: typeof c.exp === "number" ? c.exp : undefined,
  };
}

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (s.exp && s.exp * 1000 < Date.now()) return null;
    return s;
  } catch {
    return null;
  }
}

export const session = signal<Session | null>(load());
export const notice = signal<string | null>(null);
/** The token was refused (expired): the page stays as it is, with what was typed, until the
 * person signs in again in a window of its own. */
export const expired = signal(false);

export function signIn(s: Session) {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    // Storage may be unavailable (a framed widget with storage blocked); the session lives in memory.
  }
  session.set(s);
  expired.set(false);
}

export function signOut(message?: string) {
  const who = session.value?.sub;
  if (who) tabs?.postMessage({ type: "signout", sub: who } satisfies TabMessage);
  dropSession(message);
}

function dropSession(message?: string) {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // see signIn
  }
  session.set(null);
  if (message) notice.set(message);
}

export function hasRole(s: Session | null, ...roles: Role[]): boolean {
  return !!s && s.roles.some((r) => roles.includes(r));
}

/** Opens sign-in in its own window; it hands the new session back by postMessage. */
export function signInInWindow(returnTo: string) {
  const url = `/login?popup=1&return=${encodeURIComponent(returnTo)}`;
  const win = window.open(url, "feedback-login", "width=520,height=720");
  if (!win) window.location.assign(url.replace("popup=1&", ""));
}

/** Accepts a session from the sign-in window (same origin only). */
export function acceptSessionsFromWindows(): () => void {
  const onMessage = (e: MessageEvent) => {
    if (e.origin !== window.location.origin || e.data?.type !== "feedback-session") return;
    signIn(e.data.session as Session);
  };
  window.addEventListener("message", onMessage);
  return () => window.removeEventListener("message", onMessage);
}

type TabMessage = { type: "ask" } | { type: "session"; session: Session } | { type: "signout"; sub: string };

const tabs: BroadcastChannel | null = typeof BroadcastChannel === "function" && window.top === window ? new BroadcastChannel("feedback.session") : null;
let asking: ((s: Session) => void) | null = null;

tabs?.addEventListener("message", (e: MessageEvent<TabMessage>) => {
  const m = e.data;
  if (m?.type === "ask" && session.value && !expired.value) {
    tabs.postMessage({ type: "session", session: session.value } satisfies TabMessage);
  } else if (m?.type === "session" && asking && typeof m.session?.token === "string" && !(m.session.exp && m.session.exp * 1000 < Date.now())) {
    asking(m.session);
  } else if (m?.type === "signout" && session.value?.sub === m.sub) {
    dropSession("Вы вышли из системы в другой вкладке.");
  }
});

/**
 * Asks the portal's other open tabs for their session and signs this tab in with the first
 * answer. Resolves whether one came within `ms`.
 */
export function askOtherTabs(ms = 300): Promise<boolean> {
  if (!tabs || session.value) return Promise.resolve(!!session.value);
  return new Promise((resolve) => {
    const done = (s: Session | null) => {
      asking = null;
      clearTimeout(timer);
      if (s) signIn(s);
      resolve(!!s);
    };
    const timer = setTimeout(() => done(null), ms);
    asking = done;
    tabs.postMessage({ type: "ask" } satisfies TabMessage);
  });
}
