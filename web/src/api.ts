// The HTTP client: bearer token, JSON bodies and RFC 9457 problems turned into ApiError.

import { expired, session } from "./session";

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(detail || title);
  }

  /** The message for one field (exact name or a name under it, e.g. `location.lat`). */
  forField(name: string): string | undefined {
    const hit = this.errors.find((e) => e.field === name || e.field.startsWith(name + ".") || e.field.startsWith(name + "["));
    return hit?.message;
  }
}

const NETWORK_TEXT = "Нет связи с сервером. Проверьте подключение и повторите — введённые данные сохранены.";

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export async function request<T>(
  method: string,
  path: string,
  opts: { body?: unknown; query?: Query; headers?: Record<string, string>; raw?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...(opts.headers ?? {}) };
  const token = session.value?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let resp: Response;
  try {
    resp = await fetch(withQuery(path, opts.query), { method, headers, body });
  } catch {
    throw new ApiError(0, "network", "Нет связи", NETWORK_TEXT);
  }
  if (resp.status === 401 && token) {
    expired.set(true);
    throw new ApiError(401, "unauthorized", "Сеанс истёк", "Войдите снова: введённые данные останутся на странице, затем повторите действие.");
  }
  if (!resp.ok) throw await toError(resp);
  if (opts.raw) return (await resp.text()) as T;
  if (resp.status === 204) return undefined as T;
  return (await resp.json()) as T;
}

/** Field names the API may mention inside a message, as a Russian reader says them there. */
const FIELD_WORDS: [RegExp, string][] = [
  [/\bopens_at\b/g, "начала"],
  [/\bcloses_at\b/g, "окончания"],
];

function readable(text: string): string {
  return FIELD_WORDS.reduce((t, [re, word]) => t.replace(re, word), text);
}

async function toError(resp: Response): Promise<ApiError> {
  const fallback = `Сервер ответил кодом ${resp.status}.`;
  try {
    const p = await resp.json();
    const errors: FieldProblem[] = Array.isArray(p.errors) ? p.errors.map((e: FieldProblem) => ({ field: String(e.field), message: readable(String(e.message)) })) : [];
    return new ApiError(resp.status, p.code ?? "error", p.title ?? "Ошибка", readable(p.detail ?? fallback), errors);
  } catch {
    return new ApiError(resp.status, "error", "Ошибка", fallback);
  }
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>("GET", path, { query }),
  post: <T>(path: string, body?: unknown, headers?: Record<string, string>) => request<T>("POST", path, { body: body ?? {}, headers }),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, { body }),
  text: (path: string, query?: Query) => request<string>("GET", path, { query, raw: true }),
};

/** Every page of a reference list (they are complete in one page, but the contract allows more). */
export async function all<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api.get<Page<T>>(path, { limit: 100, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** Uploads a photo: asks the API for an upload URL, then PUTs the bytes there. */
export async function uploadPhoto(file: File): Promise<string> {
  const type = file.type === "image/png" ? "image/png" : "image/jpeg";
  const slot = await api.post<{ photo_id: string; upload_url: string; upload_headers?: Record<string, string> }>("/v1/photos", {
    content_type: type,
    size_bytes: file.size,
  });
  // The headers are signed into the URL (on S3 they also make it single-use): send exactly these.
  const headers = slot.upload_headers ?? { "Content-Type": type };
  let resp: Response;
  try {
    resp = await fetch(slot.upload_url, { method: "PUT", headers, body: file });
  } catch {
    throw new ApiError(0, "network", "Нет связи", NETWORK_TEXT);
  }
  if (!resp.ok) throw new ApiError(resp.status, "upload_failed", "Фото не загружено", `Не удалось загрузить «${file.name}» (код ${resp.status}).`);
  return slot.photo_id;
}
