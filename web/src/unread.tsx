// The resident's unread notifications: a badge in the header, refreshed on every page and when
// the notifications page marks them read.

import { useEffect } from "preact/hooks";
import { api } from "./api";
import { signal, useSignal } from "./signal";

type Unread = { unread: number; capped: boolean };

export const unread$ = signal<Unread | null>(null);

export function refreshUnread() {
  api.get("/v1/me/notifications/unread").then(
    (u) => unread$.set(u),
    () => undefined,
  );
}

/** «Уведомления, N непрочитанных»: a link to the notifications with the count as a badge. */
export function UnreadBadge(props: { path: string }) {
  const u = useSignal(unread$);
  useEffect(refreshUnread, [props.path]);
  const n = u?.unread ?? 0;
  const shown = u?.capped ? "99+" : String(n);
  return (
    <a href="/notifications" class="unread-link" aria-label={`Уведомления, ${shown} непрочитанных`} data-testid="unread-badge">
      <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20" fill="currentColor">
        <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5-6.71V3a2 2 0 0 0-4 0v1.29A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
      </svg>
      {n > 0 && <span class="unread-count">{shown}</span>}
    </a>
  );
}
