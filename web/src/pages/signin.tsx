import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { ROLE } from "../format";
import { finishLogin, startLogin } from "../oidc";
import { loadConfig, type Config, type DemoUser } from "../reference";
import { navigate, useLocation } from "../router";
import { sessionFromToken, signIn, type Session } from "../session";
import { Button, ErrorBox, Loading, Page, toApiError, useLoad } from "../ui";
import type { ApiError } from "../api";

/** Where a person lands after signing in, by role. */
export function homeOf(s: Session): string {
  if (s.roles.includes("admin") || s.roles.includes("analyst")) return "/dashboard";
  if (s.roles.includes("official")) return "/queue";
  if (s.roles.includes("moderator")) return "/moderation";
  return "/messages";
}

/** Only a path of this site may be a return address (`//host` and `/\\host` are other sites). */
function isLocalPath(p: string | null): p is string {
  return !!p && p.startsWith("/") && !p.startsWith("//") && !p.includes("\\");
}

function isPopup(): boolean {
  return new URLSearchParams(window.location.search).get("popup") === "1";
}

/** A sign-in opened from the widget hands the session back to it and closes. */
function complete(s: Session, returnTo: string | null, popup = isPopup()) {
  if (popup && window.opener) {
    (window.opener as Window).postMessage({ type: "feedback-session", session: s }, window.location.origin);
    window.close();
    return;
  }
  signIn(s);
  navigate(isLocalPath(returnTo) ? returnTo : homeOf(s), true);
}

export function SignIn() {
  const loc = useLocation();
  const cfg = useLoad(loadConfig, []);
  const returnTo = loc.query.get("return");
  return (
    <Page title="Вход">
      {cfg.loading && <Loading />}
      <ErrorBox error={cfg.error} />
      {cfg.data?.auth === "dev" && <DevSignIn cfg={cfg.data} returnTo={returnTo} />}
      {cfg.data?.auth === "oidc" && <OidcSignIn cfg={cfg.data} returnTo={returnTo} />}
      <p class="meta">
        Без входа можно посмотреть <a href="/map">проблемы региона на карте</a> и что с ними стало.
      </p>
    </Page>
  );
}

function DevSignIn(props: { cfg: Config; returnTo: string | null }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const choose = async (u: DemoUser) => {
    setBusy(u.sub);
    setError(null);
    try {
      // The local host's dev sign-in, outside the API's document.
      const body = {
        sub: u.sub,
        roles: u.roles,
        region: u.region ?? undefined,
        municipality: u.municipality ?? undefined,
        authority: u.authority ?? undefined,
        birthdate: u.birthdate ?? undefined,
      };
      const { token } = await request<{ token: string }>("POST", "/v1/dev/tokens", { body });
      complete(sessionFromToken(token, u.name), props.returnTo);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <div class="alert alert-warn" role="note">
        <strong>Демонстрационный режим.</strong> Сервер сам выдаёт токены. Выберите, от чьего имени войти.
      </div>
      <ErrorBox error={error} />
      <ul class="demo-users">
        {(props.cfg.demo_users ?? []).map((u) => (
          <li key={u.sub}>
            <Button kind="secondary" busy={busy === u.sub} onClick={() => choose(u)} data-sub={u.sub}>
              <span class="demo-name">{u.name}</span>
              <span class="demo-title">{u.title}</span>
              <span class="demo-roles">{u.roles.map((r) => ROLE[r] ?? r).join(", ")}</span>
            </Button>
          </li>
        ))}
      </ul>
    </>
  );
}

function OidcSignIn(props: { cfg: Config; returnTo: string | null }) {
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      await startLogin(props.cfg, props.returnTo ?? "", isPopup());
    } catch (e) {
      setError(toApiError(e));
      setBusy(false);
    }
  };
  return (
    <>
      <p>Вход выполняется через региональную систему идентификации{props.cfg.region ? ` (${props.cfg.region.name})` : ""}.</p>
      <ErrorBox error={error} />
      <Button onClick={go} busy={busy}>
        Войти через систему идентификации
      </Button>
    </>
  );
}

export function AuthCallback() {
  const loc = useLocation();
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    loadConfig()
      .then((cfg) => finishLogin(cfg, loc.query))
      .then(({ token, returnTo, popup }) => complete(sessionFromToken(token), returnTo, popup))
      .catch((e) => setError(toApiError(e)));
  }, []);
  return (
    <Page title="Вход">
      {!error && <Loading label="Завершаем вход…" />}
      <ErrorBox error={error} />
      {error && (
        <p>
          <a href="/login">Попробовать снова</a>
        </p>
      )}
    </Page>
  );
}
