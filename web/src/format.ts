// Russian labels and formats.

/** What a person reads as a message's reference: its number (`72-000123`), or the id of a
 * message from before numbers. URLs keep the id. */
export function messageRef(m: { id: string; number?: string | null }): string {
  return m.number ?? m.id;
}

export const STATUS: Record<string, string> = {
  submitted: "Отправлено",
  routed: "Направлено в орган власти",
  in_progress: "В работе",
  answered: "Дан ответ",
  closed: "Закрыто",
  rejected: "Отклонено",
  reopened: "Возобновлено",
};

export const ROLE: Record<string, string> = {
  citizen: "житель",
  official: "должностное лицо",
  moderator: "модератор",
  admin: "администратор",
  analyst: "аналитик",
  system: "система",
};

export const REJECT_REASONS: [string, string][] = [
  ["obscene", "Нецензурная лексика"],
  ["spam", "Спам"],
  ["duplicate", "Повтор уже поданного сообщения"],
  ["no_content", "Нет содержания"],
  ["personal_data", "Содержит персональные данные"],
  ["not_a_request", "Не является обращением"],
];

export const POLL_STATUS: Record<string, string> = {
  scheduled: "Запланировано",
  open: "Идёт",
  closed: "Завершено",
  cancelled: "Отменено",
};

// Times are shown in the region's zone (a deadline falls due at 23:59 there), wherever the
// browser is; until the configuration is loaded, in the browser's zone.
let dateTime = new Intl.DateTimeFormat("ru-RU", { dateStyle: "long", timeStyle: "short" });
let dateOnly = new Intl.DateTimeFormat("ru-RU", { dateStyle: "long" });
const dayMonth = new Intl.DateTimeFormat("ru-RU", { day: "numeric", month: "short", timeZone: "UTC" });

export function setDisplayZone(timeZone: string) {
  try {
    dateTime = new Intl.DateTimeFormat("ru-RU", { dateStyle: "long", timeStyle: "short", timeZone });
    dateOnly = new Intl.DateTimeFormat("ru-RU", { dateStyle: "long", timeZone });
  } catch {
    // an unknown zone: keep the browser's
  }
}

/** `2026-11-28` → `28 нояб.`: a calendar date, the same in every zone. */
export function fmtDay(s: string): string {
  const d = new Date(`${s}T00:00:00Z`);
  return isNaN(d.getTime()) ? s : dayMonth.format(d);
}

export function fmtDateTime(s?: string | null): string {
  if (!s) return "—";
  const d = new Date(s);
  return isNaN(d.getTime()) ? s : dateTime.format(d);
}

export function fmtDate(s?: string | null): string {
  if (!s) return "—";
  if (s.length === 10) {
    const day = new Date(`${s}T12:00:00Z`);
    return isNaN(day.getTime()) ? s : new Intl.DateTimeFormat("ru-RU", { dateStyle: "long", timeZone: "UTC" }).format(day);
  }
  const d = new Date(s);
  return isNaN(d.getTime()) ? s : dateOnly.format(d);
}

export function plural(n: number, one: string, few: string, many: string): string {
  const m10 = n % 10;
  const m100 = n % 100;
  if (m10 === 1 && m100 !== 11) return one;
  if (m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14)) return few;
  return many;
}

export function pct(share?: number | null): string {
  return share === null || share === undefined ? "—" : `${Math.round(share * 1000) / 10}\u00a0%`;
}

/** `YYYY-MM-DD` of a moment in a time zone (the browser's by default). */
export function isoDate(d: Date, timeZone?: string): string {
  if (timeZone) {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
    } catch {
      // an unknown zone: fall back to the browser's
    }
  }
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The offset (`+05:00`) of a time zone at a moment, for turning a local time into RFC 3339. */
export function zoneOffset(timeZone: string, at: Date): string {
  try {
    const part = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(at)
      .find((p) => p.type === "timeZoneName")?.value;
    const m = part?.match(/GMT([+-]\d{2}):?(\d{2})?/);
    if (m) return `${m[1]}:${m[2] ?? "00"}`;
  } catch {
    // fall through to the browser's own offset
  }
  const off = -at.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const a = Math.abs(off);
  return `${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

/** A `datetime-local` value (`YYYY-MM-DDTHH:MM:SS`) for a moment, in a time zone. */
export function toZonedInput(d: Date, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "00";
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}:${get("second")}`;
}

/** A `datetime-local` value read in a time zone, as RFC 3339 with that zone's offset. */
export function zonedInputToRfc3339(v: string, timeZone?: string): string {
  const withSeconds = v.length === 16 ? `${v}:00` : v;
  const approx = new Date(`${withSeconds}Z`);
  if (isNaN(approx.getTime())) return v;
  return withSeconds + zoneOffset(timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, approx);
}
