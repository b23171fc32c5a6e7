// The HTTP client: bearer token, JSON bodies and RFC 9457 problems turned into ApiError. The
// API's calls are typed by its OpenAPI document (`src/api-schema.d.ts`, written by
// `npm run gen:api`): a call names a path as the document spells it, and its parameters, body
// and answer are the document's.

import type { components, paths } from "./api-schema";
import { expired, session } from "./session";

/** The API's types, generated from its OpenAPI document. */
export type Schemas = components["schemas"];

export type FieldProblem = Schemas["FieldError"];

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

type Method = "get" | "post" | "put" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

/** The API's paths that answer `M`, as the document spells them (`/v1/messages/{id}`). */
export type PathOf<M extends Method> = { [P in keyof paths]: paths[P][M] extends undefined ? never : P }[keyof paths];

type Success<O> = O extends { responses: infer R } ? R[Extract<keyof R, 200 | 201 | 204>] : never;
type ContentOf<R> = R extends { content: infer C } ? C[keyof C] : undefined;
/** What a call answers when it succeeds. */
export type Answer<P extends keyof paths, M extends Method> = ContentOf<Success<Operation<P, M>>>;

type PathParams<O> = O extends { parameters: { path: infer A } } ? A : never;
type QueryParams<O> = O extends { parameters: { query?: infer Q } } ? ([Q] extends [never | undefined] ? never : { [K in keyof NonNullable<Q>]?: NonNullable<Q>[K] | null }) : never;
type BodyOf<O> = O extends { requestBody: { content: { "application/json": infer B } } } ? B : never;

/** A call's path parameters (encoded into the path), query, body and extra headers. */
type Call<O> = ([PathParams<O>] extends [never] ? { path?: never } : { path: PathParams<O> }) &
  ([QueryParams<O>] extends [never] ? { query?: never } : { query?: QueryParams<O> }) &
  ([BodyOf<O>] extends [never] ? { body?: never } : { body: BodyOf<O> }) & { headers?: Record<string, string> };
type Args<O> = {} extends Call<O> ? [call?: Call<O>] : [call: Call<O>];
type AnyCall = { path?: Record<string, string>; query?: Query; body?: unknown; headers?: Record<string, string> };

/** The path with its `{name}` parameters filled in, each encoded. */
function fill(template: string, params: Record<string, string> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
}

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
  if (opts.raw) return (await resp.blob()) as T;
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

/** The API's calls. A POST without a body sends `{}`. */
export const api = {
  get: <P extends PathOf<"get">>(path: P, ...[call]: Args<Operation<P, "get">>) => {
    const c = call as AnyCall | undefined;
    return request<Answer<P, "get">>("GET", fill(path, c?.path), { query: c?.query });
  },
  post: <P extends PathOf<"post">>(path: P, ...[call]: Args<Operation<P, "post">>) => {
    const c = call as AnyCall | undefined;
    return request<Answer<P, "post">>("POST", fill(path, c?.path), { body: c?.body ?? {}, query: c?.query, headers: c?.headers });
  },
  put: <P extends PathOf<"put">>(path: P, ...[call]: Args<Operation<P, "put">>) => {
    const c = call as AnyCall | undefined;
    return request<Answer<P, "put">>("PUT", fill(path, c?.path), { body: c?.body, query: c?.query, headers: c?.headers });
  },
  delete: <P extends PathOf<"delete">>(path: P, ...[call]: Args<Operation<P, "delete">>) => {
    const c = call as AnyCall | undefined;
    return request<Answer<P, "delete">>("DELETE", fill(path, c?.path), { query: c?.query, headers: c?.headers });
  },
  /** A GET whose answer is a file (CSV, XLSX), returned byte for byte. */
  file: <P extends PathOf<"get">>(path: P, ...[call]: Args<Operation<P, "get">>) => {
    const c = call as AnyCall | undefined;
    return request<Blob>("GET", fill(path, c?.path), { query: c?.query, raw: true });
  },
};

/** Uploads a photo: asks the API for an upload URL, then PUTs the bytes there. */
export async function uploadPhoto(file: File): Promise<string> {
  const type = file.type === "image/png" ? "image/png" : "image/jpeg";
  const slot = await api.post("/v1/photos", { body: { content_type: type, size_bytes: file.size } });
  // The headers are signed into the URL (on S3 they also make it single-use): send exactly these.
  const headers = slot.upload_headers;
  let resp: Response;
  try {
    resp = await fetch(slot.upload_url, { method: "PUT", headers, body: file });
  } catch {
    throw new ApiError(0, "network", "Нет связи", NETWORK_TEXT);
  }
  if (!resp.ok) throw new ApiError(resp.status, "upload_failed", "Фото не загружено", `Не удалось загрузить «${file.name}» (код ${resp.status}).`);
  return slot.photo_id;
}
