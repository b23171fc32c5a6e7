// Shared accessible building blocks: page frame, fields with their API errors, alerts, loaders.

import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState, useCallback } from "preact/hooks";
import { ApiError } from "./api";
import { STATUS } from "./format";
import { navigate, useLocation, withQuery } from "./router";

let idSeq = 0;
export function useId(prefix = "f"): string {
  const ref = useRef<string>();
  ref.current ??= `${prefix}-${++idSeq}`;
  return ref.current;
}

/** A page: sets the document title and moves focus to the heading after navigation. */
export function Page(props: { title: string; children: ComponentChildren; lead?: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} — Решаем вместе`;
    h1.current?.focus({ preventScroll: true });
  }, [props.title]);
  return (
    <>
      <h1 ref={h1} tabIndex={-1}>
        {props.title}
      </h1>
      {props.lead && <p class="lead">{props.lead}</p>}
      {props.children}
    </>
  );
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (error) => mine === seq.current && setState({ error: toApiError(error), loading: false }),
    );
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, "client", "Ошибка", e instanceof Error ? e.message : String(e));
}

export function Loading(props: { label?: string }) {
  return (
    <p class="loading" role="status">
      {props.label ?? "Загрузка…"}
    </p>
  );
}

/** Shows a request's failure. Field problems not shown beside a field are listed here. */
export function ErrorBox(props: { error?: ApiError | null; shown?: string[]; id?: string }) {
  const e = props.error;
  if (!e) return null;
  const rest = e.errors.filter((x) => !(props.shown ?? []).some((f) => x.field === f || x.field.startsWith(f + ".") || x.field.startsWith(f + "[")));
  const retryAfter = e.status === 429 ? " Повторите попытку позже." : "";
  return (
    <div class="alert alert-error" role="alert" id={props.id} tabIndex={-1}>
      <p>
        <strong>{e.title}.</strong> {e.detail}
        {retryAfter}
      </p>
      {rest.length > 0 && (
        <ul>
          {rest.map((x) => (
            <li key={x.field + x.message}>
              {x.field}: {x.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Success(props: { children: ComponentChildren }) {
  return (
    <div class="alert alert-ok" role="status">
      {props.children}
    </div>
  );
}

interface FieldProps {
  label: string;
  hint?: ComponentChildren;
  error?: string;
  children: (ids: { id: string; describedBy?: string; invalid: boolean }) => ComponentChildren;
  class?: string;
}

/** A labelled control with its hint and its error message, tied by aria-describedby. */
export function Field(props: FieldProps) {
  const id = useId();
  const hintId = props.hint ? `${id}-hint` : undefined;
  const errId = props.error ? `${id}-err` : undefined;
  const describedBy = [errId, hintId].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field ${props.error ? "field-invalid" : ""} ${props.class ?? ""}`}>
      <label for={id}>{props.label}</label>
      {props.hint && (
        <div class="hint" id={hintId}>
          {props.hint}
        </div>
      )}
      {props.error && (
        <div class="field-error" id={errId}>
          {props.error}
        </div>
      )}
      {props.children({ id, describedBy, invalid: !!props.error })}
    </div>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "label" | "value" | "onInput"> & {
  label: string;
  hint?: ComponentChildren;
  error?: string;
  value: string;
  onValue: (v: string) => void;
};

export function TextInput({ label, hint, error, value, onValue, ...rest }: InputProps) {
  return (
    <Field label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          value={value}
          onInput={(e) => onValue((e.target as HTMLInputElement).value)}
          {...rest}
        />
      )}
    </Field>
  );
}

type SelectProps = {
  label: string;
  hint?: ComponentChildren;
  error?: string;
  value: string;
  onValue: (v: string) => void;
  options: [string, string][];
  placeholder?: string;
  required?: boolean;
  name?: string;
};

export function Select(p: SelectProps) {
  return (
    <Field label={p.label} hint={p.hint} error={p.error}>
      {({ id, describedBy, invalid }) => (
        <select
          id={id}
          name={p.name}
          required={p.required}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          value={p.value}
          onChange={(e) => p.onValue((e.target as HTMLSelectElement).value)}
        >
          {p.placeholder !== undefined && <option value="">{p.placeholder}</option>}
          {p.options.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

type AreaProps = {
  label: string;
  hint?: ComponentChildren;
  error?: string;
  value: string;
  onValue: (v: string) => void;
  max?: number;
  min?: number;
  rows?: number;
  name?: string;
  required?: boolean;
};

/** A textarea with a live character count (announced when close to the limit). */
export function TextArea(p: AreaProps) {
  const count = [...p.value.trim()].length;
  const near = p.max ? count > p.max * 0.9 : false;
  const over = p.max ? count > p.max : false;
  const short = p.min ? count > 0 && count < p.min : false;
  return (
    <Field label={p.label} hint={p.hint} error={p.error}>
      {({ id, describedBy, invalid }) => (
        <>
          <textarea
            id={id}
            name={p.name}
            rows={p.rows ?? 5}
            required={p.required}
            aria-describedby={[describedBy, `${id}-count`].filter(Boolean).join(" ")}
            aria-invalid={invalid || over || undefined}
            value={p.value}
            onInput={(e) => p.onValue((e.target as HTMLTextAreaElement).value)}
          />
          {p.max && (
            <div class={`counter ${over ? "counter-over" : ""}`} id={`${id}-count`} aria-live={near ? "polite" : "off"}>
              {count} из {p.max} символов{short ? ` (нужно не меньше ${p.min})` : ""}
            </div>
          )}
        </>
      )}
    </Field>
  );
}

export function Button(props: JSX.ButtonHTMLAttributes<HTMLButtonElement> & { busy?: boolean; kind?: "primary" | "secondary" | "danger" | "link" }) {
  const { busy, kind = "primary", children, disabled, ...rest } = props;
  return (
    <button class={`btn btn-${kind}`} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {children}
    </button>
  );
}

export function StatusBadge(props: { status: string; overdue?: boolean }) {
  return (
    <span class="badges">
      <span class={`badge badge-${props.status}`}>{STATUS[props.status] ?? props.status}</span>
      {props.overdue && <span class="badge badge-overdue">Просрочено</span>}
    </span>
  );
}

/**
 * Cursor paging kept in the address (`?page=3&cursor=…`): each page is a history entry, so the
 * browser's Back returns to the page and filters it came from, and a link or a reload reopens
 * the same page. «Назад» goes back through those entries; on a page opened directly, it goes to
 * the first page. `reset` is for a change of filters: the first page of the new list.
 */
export function usePager() {
  const loc = useLocation();
  const cursor = loc.query.get("cursor");
  const page = Math.max(1, Math.floor(Number(loc.query.get("page") ?? "1")) || 1);
  return {
    cursor: cursor && page > 1 ? cursor : null,
    page: cursor ? page : 1,
    next: (c: string) => navigate(withQuery({ cursor: c, page: String(page + 1) }), false, { pagedFrom: page }),
    prev: () => {
      if ((history.state as { pagedFrom?: number } | null)?.pagedFrom === page - 1) history.back();
      else navigate(withQuery({ cursor: null, page: null }));
    },
    reset: () => navigate(withQuery({ cursor: null, page: null }), true),
  };
}

/** A list filter kept in the address: changing it is a history entry and starts at the first page. */
export function useQueryFilter(name: string): [string, (value: string) => void] {
  const loc = useLocation();
  return [loc.query.get(name) ?? "", (value) => navigate(withQuery({ [name]: value || null, cursor: null, page: null }))];
}

/** Back and next through a cursor-paged list; nothing when everything fits on one page. */
export function Pager(props: { page: number; next: string | null | undefined; onNext: () => void; onPrev: () => void }) {
  if (props.page <= 1 && !props.next) return null;
  return (
    <nav class="pager" aria-label="Страницы">
      <Button kind="secondary" onClick={props.onPrev} disabled={props.page <= 1}>
        ← Назад
      </Button>
      <span>Страница {props.page}</span>
      <Button kind="secondary" onClick={props.onNext} disabled={!props.next}>
        Далее →
      </Button>
    </nav>
  );
}

/** Focuses the error box after a failed submit, so keyboard and screen-reader users hear it. */
export function focusError(id: string) {
  requestAnimationFrame(() => {
    const invalid = document.querySelector<HTMLElement>("[aria-invalid='true']");
    (invalid ?? document.getElementById(id))?.focus();
  });
}

/**
 * A form's request: `busy` while it runs, and its error shown beside the fields with focus moved
 * there. `fail` reports a problem found before sending; `run` sends, and on failure keeps what
 * the user typed and shows the API's error, optionally reworded by `reword`.
 */
export function useFormRequest(errorPrefix: string) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const errorId = useId(errorPrefix);
  const fail = (e: ApiError) => {
    setError(e);
    focusError(errorId);
  };
  const run = async (request: () => Promise<void>, reword: (e: ApiError) => ApiError = (e) => e) => {
    setError(null);
    setBusy(true);
    try {
      await request();
    } catch (err) {
      fail(reword(toApiError(err)));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, errorId, fail, run };
}
