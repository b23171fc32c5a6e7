// Test harness for the portal: headless Chromium through playwright-core, axe-core injected
// into the page, and a tiny sequential runner that reports every test and fails loudly.

import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const BASE_URL = process.env.BASE_URL;
export const SCREENSHOTS = process.env.SCREENSHOTS_DIR ?? null;

export async function launch() {
  if (!BASE_URL) throw new Error("BASE_URL is not set: run scripts/e2e.sh, which starts `feedback serve` first");
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium); the end-to-end suite cannot run without it`);
  }
  const profile = mkdtempSync(join(tmpdir(), "feedback-e2e-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--lang=ru-RU",
      // Several users act in tabs of one browser: tabs in the background must not be throttled.
      "--disable-renderer-backgrounding",
      "--disable-background-timer-throttling",
      "--disable-backgrounding-occluded-windows",
    ],
    viewport: { width: 1280, height: 900 },
    locale: "ru-RU",
    // Native controls (date inputs, file pickers) in Russian, as a resident's browser shows them.
    env: { ...process.env, LANG: "ru_RU.UTF-8", LANGUAGE: "ru" },
    // A browser in Moscow: the portal must show and take times in the region's zone (UTC+5).
    timezoneId: "Europe/Moscow",
    baseURL: BASE_URL,
  });
  // The portal must never reach the internet: a request to anything but this machine (the host
  // under test, and the test identity provider) fails the run.
  const foreign = [];
  context.on("request", (r) => {
    const url = r.url();
    if (!/^(https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?\/|data:|blob:)/.test(url)) foreign.push(url);
  });
  return {
    context,
    foreign,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core in the page; returns the serious and critical violations. */
export async function axe(page, label) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeLog.push({ label, total: result.length, serious: bad.length, ids: result.map((v) => `${v.id}(${v.impact})`) });
  if (bad.length) throw new Error(`axe: ${bad.length} serious/critical violations on ${label}:\n${JSON.stringify(bad, null, 2)}`);
  return result;
}
export const axeLog = [];

export async function shot(page, name) {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Presses Tab until the focused element matches `selector`; fails after `max` presses. */
export async function tabTo(page, selector, max = 80) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`keyboard: ${selector} is not reachable with Tab`);
}

const tests = [];
/** `E2E_ONLY=text` runs only the tests whose name contains it (each test makes its own state). */
const ONLY = process.env.E2E_ONLY ?? "";
export function test(name, fn) {
  if (name.includes(ONLY)) tests.push({ name, fn });
}

export async function run(setup) {
  const started = Date.now();
  const env = await setup();
  let passed = 0;
  let failed = 0;
  for (const t of tests) {
    const t0 = Date.now();
    const before = new Set(env.context.pages());
    try {
      await t.fn(env);
      passed++;
      console.log(`ok   ${t.name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name} (${Date.now() - t0} ms)\n     ${String(e?.stack ?? e).split("\n").join("\n     ")}`);
      for (const [i, page] of env.context.pages().entries()) {
        const path = join(tmpdir(), `e2e-failure-${failed}-${i}.png`);
        const taken = await page.screenshot({ path, fullPage: true, timeout: 10_000 }).then(() => null, (err) => String(err?.message ?? err).split("\n")[0]);
        console.log(taken ? `     screen of ${page.url()} not taken: ${taken}` : `     screen: ${path} (${page.url()})`);
      }
    }
    // Each test makes its own pages; none outlives it, whatever its outcome.
    for (const page of env.context.pages()) if (!before.has(page)) await page.close().catch(() => undefined);
  }
  if (env.foreign.length) {
    failed++;
    console.log(`FAIL no request leaves the host\n     ${env.foreign.slice(0, 5).join("\n     ")}`);
  } else {
    passed++;
    console.log("ok   no request leaves the host");
  }
  await env.close();
  const axeSummary = axeLog.map((a) => `${a.label}: ${a.serious} serious/critical, ${a.total} in all${a.ids.length ? ` [${a.ids.join(", ")}]` : ""}`);
  console.log(`\naxe-core on ${axeLog.length} screens:\n  ${axeSummary.join("\n  ")}`);
  console.log(`\ne2e: ${passed} passed, ${failed} failed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(failed ? 1 : 0);
}

export const fixtures = here;
