// A minimal OpenID Connect provider for the tests of the portal's production sign-in: discovery,
// an authorization endpoint that signs the test user in at once, and a token endpoint that
// checks the PKCE verifier and returns an RS256 ID token. Test code only.

import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createServer } from "node:http";

const b64url = (buf) => Buffer.from(buf).toString("base64url");

export async function startProvider({ clientId, claims }) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = "test-key-1";
  const jwks = { keys: [{ ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] };
  const codes = new Map();
  const seen = { authorize: 0, token: 0, refusedVerifier: 0 };
  let issuer = "";

  const jwt = (payload) => {
    const head = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }));
    const body = b64url(JSON.stringify(payload));
    return `${head}.${body}.${b64url(sign("sha256", Buffer.from(`${head}.${body}`), privateKey))}`;
  };
  const send = (res, status, body, headers = {}) => {
    res.writeHead(status, { "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type", "Content-Type": "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    if (req.method === "OPTIONS") return send(res, 204, "");
    if (url.pathname === "/.well-known/openid-configuration") {
      return send(res, 200, { issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks.json`, code_challenge_methods_supported: ["S256"] });
    }
    if (url.pathname === "/jwks.json") return send(res, 200, jwks);
    if (url.pathname === "/authorize") {
      seen.authorize++;
      const q = url.searchParams;
      if (q.get("client_id") !== clientId || q.get("code_challenge_method") !== "S256" || !q.get("code_challenge") || q.get("response_type") !== "code") {
        return send(res, 400, { error: "invalid_request" });
      }
      const code = b64url(randomBytes(16));
      codes.set(code, { challenge: q.get("code_challenge"), nonce: q.get("nonce"), redirect: q.get("redirect_uri") });
      const back = new URL(q.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state"));
      res.writeHead(302, { Location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      seen.token++;
      let raw = "";
      for await (const chunk of req) raw += chunk;
      const form = new URLSearchParams(raw);
      const grant = codes.get(form.get("code"));
      codes.delete(form.get("code"));
      if (!grant || form.get("redirect_uri") !== grant.redirect || form.get("client_id") !== clientId) return send(res, 400, { error: "invalid_grant" });
      const challenge = b64url(createHash("sha256").update(form.get("code_verifier") ?? "").digest());
      if (challenge !== grant.challenge) {
        seen.refusedVerifier++;
        return send(res, 400, { error: "invalid_grant", error_description: "PKCE verification failed" });
      }
      const now = Math.floor(Date.now() / 1000);
      const idToken = jwt({ iss: issuer, aud: clientId, iat: now, exp: now + 600, nonce: grant.nonce, ...claims });
      return send(res, 200, { id_token: idToken, access_token: idToken, token_type: "Bearer", expires_in: 600 });
    }
    send(res, 404, { error: "not_found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    jwks,
    seen,
    close: () =>
      new Promise((r) => {
        server.close(r);
        server.closeAllConnections();
      }),
  };
}
