// OpenID Connect authorization code flow with PKCE (RFC 7636) for a public browser client.

import type { Config } from "./reference";

const STATE_KEY = "feedback.oidc";

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(n = 32): string {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

async function discover(issuer: string): Promise<Discovery> {
  const resp = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!resp.ok) throw new Error(`поставщик входа ответил кодом ${resp.status}`);
  return resp.json();
}

export function redirectUri(): string {
  return `${window.location.origin}/auth/callback`;
}

/** Sends the browser to the identity provider. */
export async function startLogin(cfg: Config, returnTo: string, popup = false): Promise<void> {
  if (!cfg.issuer || !cfg.client_id) throw new Error("не задан поставщик входа");
  const d = await discover(cfg.issuer);
  const verifier = random(48);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const state = random(16);
  const nonce = random(16);
  sessionStorage.setItem(STATE_KEY, JSON.stringify({ state, verifier, nonce, returnTo, popup, token_endpoint: d.token_endpoint }));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: cfg.client_id,
    redirect_uri: redirectUri(),
    scope: cfg.scope ?? "openid",
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  window.location.assign(`${d.authorization_endpoint}?${q}`);
}

/** Completes the login on /auth/callback: checks the state, redeems the code, returns the token. */
export async function finishLogin(cfg: Config, params: URLSearchParams): Promise<{ token: string; returnTo: string; popup: boolean }> {
  const saved = JSON.parse(sessionStorage.getItem(STATE_KEY) ?? "null");
  sessionStorage.removeItem(STATE_KEY);
  if (params.get("error")) throw new Error(params.get("error_description") ?? params.get("error") ?? "вход отменён");
  if (!saved || params.get("state") !== saved.state) throw new Error("ответ поставщика входа не относится к этому входу");
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code: params.get("code") ?? "",
    redirect_uri: redirectUri(),
    client_id: cfg.client_id ?? "",
    code_verifier: saved.verifier,
  });
  const resp = await fetch(saved.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  if (!resp.ok) throw new Error(`поставщик входа отказал в выдаче токена (код ${resp.status})`);
  const tokens = await resp.json();
  // The API checks the audience, which is this client's id: that is the ID token's `aud`.
  const token: string = tokens.id_token ?? tokens.access_token;
  if (!token) throw new Error("поставщик входа не выдал токен");
  const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  if (tokens.id_token && claims.nonce !== saved.nonce) throw new Error("токен выдан не для этого входа");
  return { token, returnTo: saved.returnTo || "/", popup: saved.popup === true };
}
