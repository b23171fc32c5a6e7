// Setup through the API, so that each test of the suite makes the messages, polls and users it
// needs and no test depends on another one's outcome. Tokens come from the host's dev endpoint,
// for a demo user of the region (by `sub`) or for a user made up for one test (by its claims).

import assert from "node:assert/strict";
import { BASE_URL } from "./lib.mjs";

let configPromise = null;

/** The host's `/config.json` (region and demo users), fetched once. */
export function config() {
  configPromise ??= fetch(`${BASE_URL}/config.json`).then((r) => r.json());
  return configPromise;
}

/**
 * An API client acting as `who`: a demo user's `sub`, or claims `{ sub, roles, municipality,
 * authority, birthdate }` of a user made up for one test (the region is the host's).
 */
export async function as(who) {
  const cfg = await config();
  const claims = typeof who === "string" ? cfg.demo_users.find((u) => u.sub === who) : { region: cfg.region.code, ...who };
  assert.ok(claims, `no demo user ${who}`);
  const { sub, roles, region, municipality, authority, birthdate } = claims;
  const issued = await fetch(`${BASE_URL}/v1/dev/tokens`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sub, roles, region, municipality: municipality ?? undefined, authority: authority ?? undefined, birthdate: birthdate ?? undefined }),
  });
  assert.ok(issued.ok, `a token for ${sub}: ${issued.status}`);
  const { token } = await issued.json();
  const call = async (method, path, body) => {
    const headers = { Accept: "application/json", Authorization: `Bearer ${token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(BASE_URL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${method} ${path} as ${sub}: ${resp.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    sub,
    get: (path) => call("GET", path),
    post: (path, body = {}) => call("POST", path, body),
  };
}

/**
 * Calls `check` until it returns something truthy, and returns that. For what the host does in
 * the background (`--schedule-every 1s`): routing, notifications, counters, closing polls.
 */
export async function until(what, check, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Files a message as `resident` and waits until it is routed; returns the routed message. */
export async function fileRoutedMessage(resident, body) {
  const { id } = await resident.post("/v1/messages", body);
  return until(`message ${id} routed`, async () => {
    const m = await resident.get(`/v1/messages/${id}`);
    return m.status === "routed" && m;
  });
}

/** The official takes the message and answers it. */
export async function answerMessage(official, id, text) {
  await official.post(`/v1/messages/${id}/take`);
  await official.post(`/v1/messages/${id}/answer`, { text });
}

/** A vote of one question over the whole region, open now; returns the poll. */
export async function createVote(admin, { title, question, options, closesInMs, results = "after_close" }) {
  return admin.post("/v1/polls", {
    kind: "vote",
    title,
    questions: [{ text: question, kind: "single", options }],
    opens_at: new Date().toISOString(),
    closes_at: new Date(Date.now() + closesInMs).toISOString(),
    results,
  });
}

/** Casts a ballot for option `index` of the vote's question; returns the receipt. */
export async function castVote(resident, pollId, index) {
  const { receipt } = await resident.post(`/v1/polls/${pollId}/ballots`, { answers: [{ question: 0, options: [index] }] });
  return receipt;
}
