// End-to-end tests of the portal against `feedback serve` with a fresh data directory (started
// by scripts/e2e.sh, which passes BASE_URL). The tests follow the platform's story: a resident
// files a message and sees it routed, an official answers, the resident rates it 5, an admin
// creates a poll, residents vote, the results chart appears after the close, the dashboard shows
// the counts. Each test makes its own state: what it does not do in the browser (the message an
// official answers, the poll residents vote in, the ballots behind a chart) it makes through the
// API first (./api.mjs), and it signs its users in itself. A failed test leaves nothing that
// another one needs, and the runner closes its pages. axe-core runs on every main screen;
// keyboard-only use is checked on the forms.

import { answerMessage, as, castVote, config, createVote, fileRoutedMessage, until } from "./api.mjs";
import { axe, BASE_URL, launch, run, shot, tabTo, test } from "./lib.mjs";
import { startProvider } from "./oidc-provider.mjs";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createECDH } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// A 2×2 PNG for the photo upload.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==",
  "base64",
);
const MESSAGE_TEXT = "Глубокая яма на проезжей части у дома 15 по улице Республики, машины объезжают по встречной.";
const ANSWER_TEXT = "Яма будет заделана литым асфальтом до конца недели, подрядчик получил задание.";
const TYUMEN_ADMIN = "Администрация города Тюмени";

async function signInAs(env, sub) {
  const page = await env.context.newPage();
  await page.bringToFront();
  await page.goto("/login");
  await page.locator(`button[data-sub="${sub}"]`).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  return page;
}

/**
 * Signs in as `sub` in a sign-in window, which hands the session to the page that opened it and
 * closes itself. The close is awaited from before the click: the window may be gone before the
 * click returns (its token comes back from this machine in a few milliseconds, while the click
 * still waits for the browser's acknowledgements), and an event that has already happened is
 * never seen by a wait started after it.
 */
async function signInInWindow(popup, sub) {
  const closed = popup.waitForEvent("close");
  await popup.locator(`button[data-sub="${sub}"]`).click();
  await closed;
}

/** A pothole report in Tyumen, filed through the API, routed to the city administration. */
async function routedPothole(resident, text) {
  const m = await fileRoutedMessage(resident, { category_id: "dorogi-yamy", municipality_id: "tyumen", address: "г. Тюмень, ул. Республики, 15", text });
  assert.equal(m.authority_id, "adm-tyumen");
  return m;
}

/** Every enabled control of the page's forms can take keyboard focus. */
async function allControlsFocusable(page, label) {
  const bad = await page.evaluate(() =>
    [...document.querySelectorAll("main input, main select, main textarea, main button, main a[href]")]
      .filter((el) => !el.disabled && el.offsetParent !== null && el.tabIndex < 0)
      .map((el) => el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(bad, [], `${label}: controls that the keyboard cannot reach`);
  const clickOnly = await page.evaluate(() => [...document.querySelectorAll("main [onclick]:not(button):not(a):not(input)")].length);
  assert.equal(clickOnly, 0, `${label}: click handlers on elements that are not controls`);
}

test("the host serves the portal, its config and assets, and keeps API 404s as problems", async () => {
  const shell = await fetch(`${BASE_URL}/messages/unknown-client-route`);
  assert.equal(shell.status, 200);
  assert.match(shell.headers.get("content-type"), /^text\/html/);
  assert.equal(shell.headers.get("cache-control"), "no-cache");
  assert.match(shell.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  const html = await shell.text();
  assert.match(html, /<html lang="ru">/);
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/)[1];
  const asset = await fetch(BASE_URL + script, { method: "HEAD" });
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const etag = asset.headers.get("etag");
  assert.equal((await fetch(BASE_URL + script, { headers: { "If-None-Match": etag } })).status, 304);
  assert.equal((await fetch(`${BASE_URL}/assets/missing-0000.js`)).status, 404);
  const problem = await fetch(`${BASE_URL}/v1/no-such-route`);
  assert.equal(problem.status, 404);
  assert.equal(problem.headers.get("content-type"), "application/problem+json");
  const widget = await fetch(`${BASE_URL}/widget?category=dorogi-yamy`);
  assert.match(widget.headers.get("content-security-policy"), /frame-ancestors \*/);
  assert.equal(widget.headers.get("x-frame-options"), null);
  const cfg = await (await fetch(`${BASE_URL}/config.json`)).json();
  assert.equal(cfg.auth, "dev");
  assert.ok(cfg.demo_users.some((u) => u.authority === "adm-tyumen"));
});

test("sign-in lists the demo users of the region", async (env) => {
  const page = await env.context.newPage();
  await page.goto("/");
  await page.waitForURL(/\/login/);
  await page.getByRole("heading", { name: "Вход" }).waitFor();
  const users = page.locator(".demo-users button");
  assert.ok((await users.count()) >= 6);
  await page.getByText(`Должностное лицо: ${TYUMEN_ADMIN}`).waitFor();
  for (const role of ["житель", "модератор", "администратор", "аналитик"]) await page.getByText(role, { exact: true }).first().waitFor();
  await axe(page, "sign-in");
  await shot(page, "01-sign-in");
  await page.close();
});

test("on a phone the sections are a tab bar at the bottom, and no page is wider than the screen", async (env) => {
  const resident = await as("resident-anna");
  const message = await routedPothole(resident, "Не горит фонарь у подъезда, во дворе темно, просим заменить лампу.");
  const page = await signInAs(env, "resident-anna");
  await page.setViewportSize({ width: 390, height: 844 });
  for (const path of ["/new", "/messages", `/messages/${message.id}`, "/notifications", "/polls", "/discussions", "/me/preferences", "/me/data"]) {
    await page.goto(path);
    await page.locator("main h1").first().waitFor();
    await page.waitForLoadState("networkidle");
    const { scroll, width, header } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: window.innerWidth,
      header: document.querySelector(".topbar-inner").getBoundingClientRect().height,
    }));
    assert.ok(scroll <= width, `${path} is ${scroll} px wide on a ${width} px screen`);
    assert.ok(header <= 64, `${path}: the header is ${header} px high`);
    const bar = await page.locator(".mainnav ul.container").boundingBox();
    assert.ok(bar.y + bar.height >= 843 && bar.y >= 700, `${path}: the tab bar is at ${bar.y}..${bar.y + bar.height}`);
  }
  // The first sections are tabs; «Ещё» opens the others, and choosing one closes it again.
  await page.goto("/messages");
  const tabs = page.getByRole("navigation", { name: "Разделы" });
  assert.equal(await tabs.getByRole("link", { name: "Мои данные" }).isVisible(), false);
  const more = tabs.getByRole("button", { name: "Ещё" });
  const target = await more.boundingBox();
  assert.ok(target.height >= 48, `«Ещё» is ${target.height} px high`);
  await more.click();
  assert.equal(await more.getAttribute("aria-expanded"), "true");
  await axe(page, "phone: navigation sheet open");
  await shot(page, "20-phone-navigation");
  await tabs.getByRole("link", { name: "Мои данные" }).click();
  await page.waitForURL(/\/me\/data$/);
  // The sheet closes as the new page renders (it fails here if it never does).
  await tabs.locator('button[aria-expanded="false"]', { hasText: "Ещё" }).waitFor({ timeout: 5000 });
  assert.equal(await more.getAttribute("aria-expanded"), "false");
  // A list that fits on one page has no pager.
  await page.goto("/messages");
  await page.locator(".cards li, table tbody tr").first().waitFor();
  assert.equal(await page.getByRole("navigation", { name: "Страницы" }).count(), 0);
  await axe(page, "phone: my messages");
  await page.close();
});

test("a new tab is signed in from the open ones, and signing out there signs out every tab", async (env) => {
  const first = await signInAs(env, "resident-ivan");
  await first.goto("/messages");
  await first.getByRole("heading", { level: 1, name: "Мои сообщения" }).waitFor();
  // A link opened in a new tab: the portal's open tab hands over its session.
  const second = await env.context.newPage();
  await second.goto("/me/preferences");
  await second.getByRole("heading", { level: 1, name: "Уведомления и подписки" }).waitFor();
  assert.equal(new URL(second.url()).pathname, "/me/preferences");
  await second.getByRole("button", { name: "Выйти" }).click();
  await second.waitForURL(/\/login/);
  // The first tab is signed out too, and says why.
  await first.waitForURL(/\/login/);
  await first.getByText("Вы вышли из системы в другой вкладке.").waitFor();
  // With no tab signed in, a new tab lands on sign-in and returns to its page after it.
  const third = await env.context.newPage();
  await third.goto("/messages");
  await third.waitForURL(/\/login\?return=%2Fmessages/);
  await first.close();
  await second.close();
  await third.close();
});

test("a resident finds a category by an everyday word, by a tile or from the text, on a desktop and on a phone", async (env) => {
  const page = await signInAs(env, "resident-olga");
  for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(size);
    await page.goto("/new");
    await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("feedback.draft.")).forEach((k) => sessionStorage.removeItem(k)));
    await page.reload();
    // The search box's own example finds the category, ranked by the API's stemmed search.
    await page.getByLabel("Поиск категории").fill("яма");
    const results = page.getByRole("radiogroup", { name: "Найденные категории" });
    await results.getByText("Ямы на дорогах").waitFor();
    const hit = await results.locator("label.result").first().boundingBox();
    assert.ok(hit.height >= 48, `a result is ${hit.height} px high`);
    // An everyday word that is in no category's name.
    await page.getByLabel("Поиск категории").fill("фонарь");
    await results.getByText("Освещение улиц").waitFor();
    await results.getByText("Освещение улиц").click();
    await page.getByText("Выбрано: Освещение улиц").waitFor();
    // A frequent category is one tap away.
    const tile = page.getByRole("group", { name: "Частые категории" }).getByRole("button").first();
    const name = (await tile.textContent()).trim();
    await tile.click();
    assert.equal(await tile.getAttribute("aria-pressed"), "true");
    await page.getByText(`Выбрано: ${name}`).waitFor();
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `/new is ${scroll} px wide on a ${width} px screen`);
    await axe(page, `category search (${size.width} px)`);
  }
  // With no category picked, the text suggests one, and one click picks it.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("feedback.draft.")).forEach((k) => sessionStorage.removeItem(k)));
  await page.reload();
  await page.getByLabel("Текст сообщения").fill("Во дворе дома не горит фонарь, вечером очень темно.");
  const suggestion = page.getByTestId("category-suggestion");
  await suggestion.getByRole("button", { name: "Освещение улиц" }).click();
  await page.getByText("Выбрано: Освещение улиц").waitFor();
  await page.close();
});

test("a resident's bad input gets the API's message beside the field and keeps what was typed", async (env) => {
  const page = await signInAs(env, "resident-anna");
  await page.goto("/new");
  await page.getByLabel("Поиск категории").fill("ям");
  await page.locator('input[data-category="dorogi-yamy"]').check();
  const text = page.getByLabel("Текст сообщения");
  await text.fill("Яма тут");
  await page.getByText("7 из 4000 символов").waitFor();
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/v1/messages") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Отправить сообщение" }).click(),
  ]);
  assert.equal(resp.status(), 422);
  const problem = await resp.json();
  const apiMessage = problem.errors.find((e) => e.field === "text").message;
  const fieldError = page.locator(".field-invalid", { has: page.locator("textarea") }).locator(".field-error");
  assert.equal(await fieldError.textContent(), apiMessage);
  assert.equal(await text.getAttribute("aria-invalid"), "true");
  assert.equal(await text.inputValue(), "Яма тут");
  await axe(page, "submission form with errors");
  await shot(page, "03-submit-validation");

  // A request that never reaches the server loses nothing either.
  await text.fill(MESSAGE_TEXT);
  await page.getByLabel("Адрес").fill("г. Тюмень, ул. Республики, 15");
  await page.route("**/v1/messages", (route) => route.abort("internetdisconnected"), { times: 1 });
  await page.getByRole("button", { name: "Отправить сообщение" }).click();
  await page.getByText("Нет связи с сервером").waitFor();
  assert.equal(await text.inputValue(), MESSAGE_TEXT);
  assert.equal(await page.getByLabel("Адрес").inputValue(), "г. Тюмень, ул. Республики, 15");
  assert.ok(await page.locator('input[data-category="dorogi-yamy"]').isChecked());
});

test("a resident submits a message with a photo and coordinates and sees it routed", async (env) => {
  const page = await signInAs(env, "resident-anna");
  await page.goto("/new");
  await page.getByLabel("Поиск категории").fill("ям");
  await page.locator('input[data-category="dorogi-yamy"]').check();
  await page.getByLabel("Текст сообщения").fill(MESSAGE_TEXT);
  await page.getByLabel("Адрес").fill("г. Тюмень, ул. Республики, 15");
  await page.getByLabel("Широта").fill("57.153");
  await page.getByLabel("Долгота").fill("65.534");
  await page.locator('input[type="file"]').setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a photo") });
  await page.locator(".photo-picker .field-error", { hasText: "только фотографии JPEG или PNG" }).waitFor();
  await page.locator('input[type="file"]').setInputFiles({ name: "yama.png", mimeType: "image/png", buffer: PNG });
  await page.getByRole("img", { name: "yama.png" }).waitFor();
  await allControlsFocusable(page, "submission form");
  await axe(page, "submission form");
  await shot(page, "02-submit-message");
  await page.getByRole("button", { name: "Отправить сообщение" }).click();
  await page.waitForURL(/\/messages\/[0-9A-Z]{26}/);
  await page.getByTestId("authority").getByText(TYUMEN_ADMIN).waitFor({ timeout: 15000 });
  await page.locator(".badge", { hasText: "Направлено в орган власти" }).first().waitFor();
  const photo = page.getByRole("img", { name: "Фотография 1 к сообщению" });
  await photo.waitFor();
  assert.ok(await photo.evaluate((img) => img.complete && img.naturalWidth === 2), "the uploaded photo is shown");
  await page.locator(".timeline").getByText("Направлено в орган власти").waitFor();
  // A thank-you with the number and, once routed, the date the answer is due.
  const thanks = page.getByTestId("thanks");
  await thanks.getByText(/Ответ придёт до \d{1,2} [а-я]+ \d{4}/).waitFor();
  assert.match(await thanks.textContent(), /Спасибо! Сообщение принято\. Обращение № 72-\d{6,}/);
  await axe(page, "message (routed)");
});

test("after submitting, the resident reads «Обращение № 72-…» and finds that number in the list, on a desktop and on a phone", async (env) => {
  const page = await signInAs(env, "resident-anna");
  const anna = await as("resident-anna");
  for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    await page.setViewportSize(size);
    await page.goto("/new");
    await page.getByLabel("Поиск категории").fill("ям");
    await page.locator('input[data-category="dorogi-yamy"]').check();
    await page.getByLabel("Текст сообщения").fill(`Яма на тротуаре у дома 17 по улице Республики, заметна на экране ${size.width} px.`);
    await page.getByLabel("Адрес").fill("г. Тюмень, ул. Республики, 17");
    await page.getByRole("button", { name: "Отправить сообщение" }).click();
    await page.waitForURL(/\/messages\/[0-9A-Z]{26}\?new=1$/);
    const id = new URL(page.url()).pathname.split("/").at(-1);
    const thanks = page.getByTestId("thanks");
    await thanks.waitFor();
    const number = (await thanks.textContent()).match(/Обращение № (72-\d{6,})/)?.[1];
    assert.ok(number, `the thank-you names the number: ${await thanks.textContent()}`);
    // The header names it too, the URL keeps the id, and the API finds the message by it.
    await page.locator(".lead", { hasText: `Обращение № ${number}` }).waitFor();
    assert.equal((await anna.get(`/v1/messages/by-number/${number}`)).id, id);
    const oneLine = await thanks.locator(".nowrap").evaluate((el) => el.getClientRects().length === 1);
    assert.ok(oneLine, "the number does not break across lines");
    await axe(page, `message with its number (${size.width} px)`);
    await page.goto("/messages");
    await page.getByTestId("message-number").filter({ hasText: `Обращение № ${number}` }).waitFor();
    const wide = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(wide.scroll <= wide.width, `my messages are ${wide.scroll} px wide on a ${wide.width} px screen`);
    await axe(page, `my messages with numbers (${size.width} px)`);
  }
  await page.close();
});

test("anyone reads the authorities' scorecards without signing in, each figure explained, and finds the open data", async (env) => {
  const page = await env.context.newPage();
  await page.goto("/ratings");
  await page.getByRole("heading", { level: 1, name: "Рейтинг ведомств" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Выйти" }).count(), 0, "nobody is signed in");
  const how = page.getByTestId("scorecard-explanations");
  for (const term of ["В срок", "Медиана рабочих дней", "Возобновлено", "Оценки 4–5", "Отписки"]) await how.getByText(term, { exact: true }).waitFor();
  const table = page.getByTestId("scorecards-table");
  await table.getByRole("rowheader", { name: TYUMEN_ADMIN }).waitFor();
  // fewer than 20 answers: listed, not ranked
  await page.getByTestId("scorecard-adm-tyumen").getByText("недостаточно данных").waitFor();
  for (const link of ["Таблица CSV", "Точки GeoJSON", "Описание полей (Frictionless Data Package)"]) await page.getByRole("link", { name: link }).waitFor();
  await axe(page, "authority scorecards");
  await page.setViewportSize({ width: 390, height: 844 });
  const phone = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(phone.scroll <= phone.width, `the scorecards page is ${phone.scroll} px wide on a ${phone.width} px screen`);
  await axe(page, "authority scorecards (phone)");
  await page.close();
});

test("an official sees the message in the queue, takes it and answers", async (env) => {
  const message = await routedPothole(await as("resident-anna"), "Яма на проезжей части у дома 15 по улице Республики, колесо провалилось по ступицу.");
  const page = await signInAs(env, "official-sergey");
  assert.match(page.url(), /\/queue$/);
  const row = page.locator("table.queue tbody tr", { has: page.locator(`a[href="/messages/${message.id}"]`) });
  await row.getByText("Ямы на дорогах").waitFor();
  await page.getByLabel("Статус").selectOption("routed");
  await row.waitFor();
  await axe(page, "official queue");
  await shot(page, "05-official-queue");
  await row.getByRole("link").click();
  await page.getByRole("button", { name: "Взять в работу" }).click();
  await page.getByText("Сообщение взято в работу.").waitFor();
  // The history stays on the page after the action, with the new step.
  await page.locator(".timeline").getByText("В работе").waitFor();
  await page.locator(".badge", { hasText: "В работе" }).first().waitFor();
  await page.getByLabel("Текст ответа").fill(ANSWER_TEXT);
  // The session runs out while the answer is being typed: the API refuses the token, the page
  // keeps the text, and signing in again in a window lets the same click succeed.
  await page.route("**/v1/messages/*/answer", (route) => route.continue({ headers: { ...route.request().headers(), authorization: "Bearer expired" } }), { times: 1 });
  await page.getByRole("button", { name: "Отправить ответ" }).click();
  await page.getByRole("alert").filter({ hasText: "Сеанс истёк" }).first().waitFor();
  assert.equal(await page.getByLabel("Текст ответа").inputValue(), ANSWER_TEXT);
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Войти снова" }).click()]);
  await signInInWindow(popup, "official-sergey");
  await page.getByRole("button", { name: "Войти снова" }).waitFor({ state: "detached" });
  assert.equal(await page.getByLabel("Текст ответа").inputValue(), ANSWER_TEXT);
  await allControlsFocusable(page, "official actions");
  await axe(page, "official message actions");
  await shot(page, "06-official-answer");
  await page.getByRole("button", { name: "Отправить ответ" }).click();
  await page.getByText("Ответ отправлен жителю.").waitFor();
  await page.getByTestId("answer").getByText(ANSWER_TEXT).waitFor();
  await page.close();
});

test("an official keeps a reply template, picks it, attaches a photo and answers; the resident sees the answer with its photo, on a desktop and on a phone", async (env) => {
  const TEMPLATE_TEXT = "Яма на проезжей части заделана литым асфальтом, участок дороги восстановлен.";
  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const message = await routedPothole(await as("resident-anna"), `Яма у остановки на улице Республики (${size.width}), колёса проваливаются.`);
    const title = `Яма заделана (${size.width})`;
    const page = await signInAs(env, "official-sergey");
    await page.setViewportSize(size);
    await page.goto("/templates");
    await page.getByRole("heading", { level: 1, name: "Шаблоны ответов" }).waitFor();
    // an empty template gets the API's Russian messages beside its fields
    await page.getByRole("button", { name: "Добавить шаблон" }).click();
    await page.locator(".field-error", { hasText: "Введите название шаблона." }).waitFor();
    await page.getByLabel("Название").fill(title);
    await page.getByLabel("Текст ответа").fill(TEMPLATE_TEXT);
    await page.getByRole("button", { name: "Добавить шаблон" }).click();
    await page.getByText(`Шаблон «${title}» добавлен.`).waitFor();
    await page.getByTestId("templates").getByRole("heading", { name: title }).waitFor();
    await axe(page, `${size.width}px: reply templates`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wide <= 0, `the templates page is ${wide} px wider than the screen`);

    await page.goto(`/messages/${message.id}`);
    await page.getByLabel("Шаблон ответа").selectOption({ label: title });
    assert.equal(await page.getByLabel("Текст ответа").inputValue(), TEMPLATE_TEXT, "the template fills the answer");
    const answer = `${TEMPLATE_TEXT} Спасибо за сообщение.`;
    await page.getByLabel("Текст ответа").fill(answer);
    await page.locator('input[type="file"]').setInputFiles({ name: "zadelano.png", mimeType: "image/png", buffer: PNG });
    await page.getByRole("img", { name: "zadelano.png" }).waitFor();
    await axe(page, `${size.width}px: answer with a template and a photo`);
    await page.getByRole("button", { name: "Отправить ответ" }).click();
    await page.getByText("Ответ отправлен жителю.").waitFor();
    await page.getByTestId("answer").getByText(answer).waitFor();
    await page.getByTestId("answer-photos").getByRole("img", { name: /Фотография 1 к ответу/ }).waitFor();
    const sent = await (await as("official-sergey")).get(`/v1/messages/${message.id}`);
    assert.equal(sent.answer.text, answer, "the edited text is sent");
    assert.equal(sent.answer.photo_ids.length, 1);
    assert.deepEqual(sent.photo_ids, [], "the resident's photos stay theirs");
    // the template is removed again
    await page.goto("/templates");
    await page.getByRole("button", { name: `Удалить шаблон «${title}»` }).click();
    await page.getByText(`Шаблон «${title}» удалён.`).waitFor();
    await page.close();

    const anna = await signInAs(env, "resident-anna");
    await anna.setViewportSize(size);
    await anna.goto(`/messages/${message.id}`);
    await anna.getByTestId("answer").getByText(answer).waitFor();
    const photo = anna.getByTestId("answer-photos").getByRole("img", { name: /Фотография 1 к ответу/ });
    await photo.waitFor();
    await anna.waitForFunction((el) => el.complete && el.naturalWidth > 0, await photo.elementHandle());
    const href = await anna.getByTestId("answer-photos").getByRole("link").getAttribute("href");
    assert.ok(href, "the photo opens full-size");
    await axe(anna, `${size.width}px: the resident reads the answer with its photo`);
    const wider = await anna.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wider <= 0, `the message is ${wider} px wider than the screen`);
    await anna.close();
  }
});

const SIZES = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

/** Fails when the page is wider than its screen. */
async function fitsTheScreen(page, label) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${label} is ${scroll} px wide on a ${width} px screen`);
}

test("item 2: a message without a category or with a short text gets Russian messages at the right field, on a desktop and on a phone", async (env) => {
  for (const size of SIZES) {
    const page = await signInAs(env, "resident-anna");
    await page.setViewportSize(size);
    await page.goto("/new");
    const text = page.getByLabel("Текст сообщения");
    await text.fill(MESSAGE_TEXT);
    // No category: the portal asks for one before sending, marks the fieldset and moves focus there.
    let posted = 0;
    page.on("request", (r) => r.url().endsWith("/v1/messages") && r.method() === "POST" && posted++);
    await page.getByRole("button", { name: "Отправить сообщение" }).click();
    const picker = page.locator("fieldset.category-picker");
    await picker.locator(".field-error", { hasText: "Выберите категорию." }).waitFor();
    assert.equal(await picker.getAttribute("aria-invalid"), "true");
    await page.waitForFunction(() => document.querySelector("fieldset.category-picker")?.contains(document.activeElement));
    assert.equal(posted, 0, "nothing was sent");
    await axe(page, `${size.width}px: a message without a category`);
    // A short text: the API's own Russian message beside the text, which is kept.
    await page.getByLabel("Поиск категории").fill("яма");
    await page.locator('input[data-category="dorogi-yamy"]').check();
    await text.fill("Яма тут");
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/v1/messages") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Отправить сообщение" }).click(),
    ]);
    assert.equal(resp.status(), 422);
    const problem = await resp.json();
    const message = problem.errors.find((e) => e.field === "text").message;
    assert.doesNotMatch(message, /[A-Za-z]/, "the message is Russian");
    await page.locator(".field-invalid", { has: page.locator("textarea") }).locator(".field-error", { hasText: message }).waitFor();
    assert.equal(await text.inputValue(), "Яма тут");
    await fitsTheScreen(page, `${size.width}px: the message form with errors`);
    await page.close();
  }
});

test("items 3 and 6: the resident rates with 48 px stars, thanked, the history kept, on a desktop and on a phone", async (env) => {
  const anna = await as("resident-anna");
  for (const size of SIZES) {
    const message = await routedPothole(anna, `Яма на перекрёстке Республики и Орджоникидзе (${size.width}), асфальт провалился.`);
    await answerMessage(await as("official-sergey"), message.id, ANSWER_TEXT);
    const page = await signInAs(env, "resident-anna");
    await page.setViewportSize(size);
    await page.goto(`/messages/${message.id}`);
    await page.getByRole("heading", { name: "Оцените ответ" }).waitFor();
    for (const word of ["плохо", "отлично"]) {
      const box = await page.locator("label.star", { hasText: word }).boundingBox();
      assert.ok(box.width >= 48 && box.height >= 48, `${size.width}px: the star «${word}» is ${box.width}×${box.height} px`);
    }
    await page.locator("label.star", { hasText: "хорошо" }).click();
    assert.ok(await page.getByRole("radio", { name: "4 из 5 — хорошо" }).isChecked());
    await fitsTheScreen(page, `${size.width}px: the rating form`);
    await axe(page, `${size.width}px: rating with stars`);
    await page.getByRole("button", { name: "Отправить оценку" }).click();
    await page.getByTestId("done").getByText("Спасибо за оценку!").waitFor();
    // What happened stays on the page: the rating, the status and the whole history.
    await page.getByTestId("rating").getByText("4 из 5").waitFor();
    await page.locator(".timeline").getByText("Закрыто", { exact: true }).waitFor();
    await page.locator(".timeline").getByText("Дан ответ", { exact: true }).first().waitFor();
    await axe(page, `${size.width}px: thanked after the rating`);
    await page.close();
  }
});

test("item 8: an official's «Показатели» are titled for their authority and count what it received, on a desktop and on a phone", async (env) => {
  await routedPothole(await as("resident-anna"), "Яма у въезда на парковку торгового центра на улице Республики, глубокая.");
  for (const size of SIZES) {
    const page = await signInAs(env, "official-sergey");
    await page.setViewportSize(size);
    await page.goto("/dashboard");
    await page.getByRole("heading", { level: 1, name: `Показатели: ${TYUMEN_ADMIN}` }).waitFor();
    assert.equal(await page.getByRole("heading", { level: 1, name: "Аналитика региона" }).count(), 0);
    await page.getByTestId("kpi-submitted").filter({ hasText: /^[1-9]\d*$/ }).waitFor();
    const received = page.getByTestId("chart-category");
    await received.locator("summary").click();
    assert.equal(await received.locator("thead th", { hasText: "Поступило" }).count(), 1);
    const row = received.locator("tbody tr", { hasText: "Ямы на дорогах" });
    assert.ok(Number(await row.locator("td").first().textContent()) >= 1, "the received potholes are counted");
    await fitsTheScreen(page, `${size.width}px: the official's dashboard`);
    await axe(page, `${size.width}px: the official's dashboard`);
    await page.close();
  }
});

test("item 13: an admin's new poll closes at a sensible time, shows one question error and a preview, on a desktop and on a phone", async (env) => {
  for (const size of SIZES) {
    const page = await signInAs(env, "admin-dmitry");
    await page.setViewportSize(size);
    await page.goto("/admin/polls/new");
    assert.match(await page.getByLabel("Окончание").inputValue(), /T23:59$/, "the day's end, not the minute of opening");
    await page.getByLabel("Название").fill("Какой двор благоустроить первым?");
    await page.getByLabel(/Варианты ответа/).fill("Двор на Ленина\nДвор на Мира");
    await page.getByRole("button", { name: "Создать", exact: true }).click();
    const questionError = page.locator(".question .field-error");
    await questionError.first().waitFor();
    assert.equal(await questionError.count(), 1, "the question's error is shown once");
    await page.getByLabel("Текст вопроса").fill("Выберите двор");
    await page.getByRole("button", { name: "Предпросмотр" }).click();
    const preview = page.getByTestId("poll-preview");
    await preview.getByRole("heading", { name: "Какой двор благоустроить первым?" }).waitFor();
    assert.deepEqual(await preview.locator("label").allTextContents(), ["Двор на Ленина", "Двор на Мира"]);
    await fitsTheScreen(page, `${size.width}px: the poll form`);
    await axe(page, `${size.width}px: the poll form with its preview`);
    await page.close();
  }
});

test("item 14: the portal's reference data comes with an ETag and Cache-Control, revalidates, and text is compressed, on a desktop and on a phone", async (env) => {
  for (const size of SIZES) {
    const page = await signInAs(env, "resident-anna");
    await page.setViewportSize(size);
    const seen = new Map();
    page.on("response", async (r) => {
      const path = new URL(r.url()).pathname;
      if (path === "/v1/categories" || path.startsWith("/assets/")) seen.set(path, await r.allHeaders());
    });
    await page.goto("/new");
    await page.locator("main h1").first().waitFor();
    await page.waitForLoadState("networkidle");
    const categories = seen.get("/v1/categories");
    assert.ok(categories, "the portal loads the categories");
    assert.equal(categories["cache-control"], "public, max-age=300");
    assert.match(categories["etag"], /^"[^"]+"$/);
    assert.match(categories["content-encoding"] ?? "", /^(br|gzip)$/, "the categories are compressed");
    const script = [...seen.entries()].find(([p]) => p.endsWith(".js"));
    assert.ok(script, "a script was loaded");
    assert.match(script[1]["content-encoding"] ?? "", /^(br|gzip)$/, "the script is compressed");
    const again = await page.evaluate(async (etag) => (await fetch("/v1/categories", { headers: { "If-None-Match": etag } })).status, categories["etag"]);
    assert.equal(again, 304, "a known version is not sent again");
    await axe(page, `${size.width}px: the message form, loaded afresh`);
    await page.close();
  }
});

test("the official's queue keeps its filter and page in the address, and on a phone its rows are cards", async (env) => {
  // 22 routed messages: more than the 20 of one page, filed by two residents within their hourly limit.
  const filers = [await as({ sub: "queue-filer-1", roles: ["citizen"], municipality: "tyumen" }), await as({ sub: "queue-filer-2", roles: ["citizen"], municipality: "tyumen" })];
  const filed = await Promise.all(
    Array.from({ length: 22 }, (_, i) => routedPothole(filers[i % 2], `Выбоина на дороге у дома ${i + 1} по улице Мельникайте, нужен ремонт покрытия.`)),
  );
  const page = await signInAs(env, "official-sergey");
  await page.getByLabel("Статус").selectOption("routed");
  await page.waitForURL(/\/queue\?status=routed$/);
  const firstHref = () => page.locator("table.queue tbody tr a").first().getAttribute("href");
  await page.locator("table.queue tbody tr").first().waitFor();
  const onPage1 = await firstHref();
  await page.getByRole("button", { name: "Далее →" }).click();
  await page.waitForURL(/[?&]page=2(&|$)/);
  await page.getByText("Страница 2").waitFor();
  await page.waitForFunction((h) => document.querySelector("table.queue tbody tr a")?.getAttribute("href") !== h, onPage1);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get("status"), "routed");
  assert.ok(url.searchParams.get("cursor"), "the page's cursor is in the address");
  const onPage2 = await firstHref();
  // Open a message from page 2, then Back: the same filter, page and rows.
  await page.locator("table.queue tbody tr a").first().click();
  await page.waitForURL(/\/messages\//);
  await page.goBack();
  await page.getByText("Страница 2").waitFor();
  await page.locator(`table.queue tbody tr a[href="${onPage2}"]`).waitFor();
  assert.equal(await page.getByLabel("Статус").inputValue(), "routed");
  assert.equal(await firstHref(), onPage2);
  // A reload keeps it too, and «← Назад» returns to the first page.
  await page.reload();
  await page.getByText("Страница 2").waitFor();
  await page.getByRole("button", { name: "← Назад" }).click();
  await page.waitForURL((u) => !u.searchParams.has("page"));
  assert.equal(new URL(page.url()).searchParams.get("status"), "routed");
  // On a phone each row is a card with its labels, and the page is no wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  const row = page.locator("table.queue tbody tr").first();
  await row.waitFor();
  const { scroll, width, rowWidth } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
    rowWidth: document.querySelector("table.queue tbody tr").getBoundingClientRect().width,
  }));
  assert.ok(scroll <= width, `the queue is ${scroll} px wide on a ${width} px screen`);
  assert.ok(rowWidth <= width, `a card is ${rowWidth} px wide`);
  const label = await row.locator("td").first().evaluate((td) => getComputedStyle(td, "::before").content);
  assert.match(label, /Срок ответа/);
  await axe(page, "phone: official queue");
  await shot(page, "21-phone-official-queue");
  assert.equal(filed.length, 22);
  await page.close();
});

test("the official's queue: counts, «Все» with answered messages, a search by address that Back keeps, cards on a phone", async (env) => {
  const filer = await as({ sub: "queue-search-filer", roles: ["citizen"], municipality: "tyumen" });
  const sergey = await as("official-sergey");
  const street = "г. Тюмень, ул. Одесская, 27";
  const body = (text) => ({ category_id: "dorogi-yamy", municipality_id: "tyumen", address: street, text });
  const open = await fileRoutedMessage(filer, body("Провал асфальта у въезда во двор на улице Одесской, опасно для машин."));
  const done = await fileRoutedMessage(filer, body("Разбитый бордюр у пешеходного перехода на улице Одесской, нужен ремонт."));
  await answerMessage(sergey, done.id, "Бордюр будет заменён подрядчиком в течение двух недель, заявка принята.");
  const counts = await until("counts with the answer", async () => {
    const c = await sergey.get("/v1/authority/messages/counts");
    return c.answered >= 1 && c;
  });
  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const page = await signInAs(env, "official-sergey");
    await page.setViewportSize(size);
    await page.goto("/queue");
    // the counts, exact from the counters
    const shown = page.getByTestId("queue-counts");
    await shown.waitFor();
    const text = await shown.textContent();
    assert.match(text, new RegExp(`Открытых: ${counts.open}\\b`));
    assert.match(text, /просрочено: \d+/);
    // the default filter is «Открытые»: the answered message is not there
    assert.equal(await page.getByLabel("Статус").inputValue(), "");
    // a search by the street finds the open one only, then «Все» both
    await page.getByLabel("Адрес, слова из текста или номер").fill("Одесская");
    await page.getByRole("button", { name: "Найти" }).click();
    await page.waitForURL((u) => u.searchParams.get("q") === "Одесская");
    await page.locator(`table.queue tbody tr a[href="/messages/${open.id}"]`).waitFor();
    assert.equal(await page.locator(`table.queue tbody tr a[href="/messages/${done.id}"]`).count(), 0, "«Открытые» holds no answered message");
    await page.getByLabel("Статус").selectOption("all");
    await page.waitForURL((u) => u.searchParams.get("status") === "all" && u.searchParams.get("q") === "Одесская");
    await page.locator(`table.queue tbody tr a[href="/messages/${done.id}"]`).waitFor();
    const found = await sergey.get(`/v1/authority/messages?status=all&q=${encodeURIComponent("Одесская")}&limit=100`);
    const foundIds = found.items.map((m) => `/messages/${m.id}`).sort();
    assert.ok(foundIds.includes(`/messages/${open.id}`) && foundIds.includes(`/messages/${done.id}`), "the API's search finds both");
    const rows = await page.locator("table.queue tbody tr a").evaluateAll((links) => links.map((l) => l.getAttribute("href")).sort());
    assert.deepEqual(rows, foundIds.slice(0, 20), "the queue shows what the search finds");
    // open one and come back: the same filter and search
    await page.locator(`table.queue tbody tr a[href="/messages/${done.id}"]`).click();
    await page.waitForURL(/\/messages\//);
    await page.goBack();
    await page.locator(`table.queue tbody tr a[href="/messages/${open.id}"]`).waitFor();
    assert.equal(await page.getByLabel("Статус").inputValue(), "all");
    assert.equal(await page.getByLabel("Адрес, слова из текста или номер").inputValue(), "Одесская");
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `the queue is ${scroll} px wide on a ${width} px screen`);
    if (size.width < 600) {
      const label = await page.locator("table.queue tbody tr td").first().evaluate((td) => getComputedStyle(td, "::before").content);
      assert.match(label, /Срок ответа/, "on a phone each row is a card with labels");
    }
    await axe(page, `${size.width}px: official queue with a search`);
    await page.close();
  }
});

test("the official's queue sorts newest or oldest first by sending, kept in the address, on a desktop and on a phone", async (env) => {
  const filer = await as({ sub: "queue-sort-filer", roles: ["citizen"], municipality: "tyumen" });
  const street = "г. Тюмень, ул. Холодильная, 4";
  const body = (text) => ({ category_id: "dorogi-yamy", municipality_id: "tyumen", address: street, text });
  const older = await fileRoutedMessage(filer, body("Глубокая яма на проезжей части у дома на улице Холодильной, машины объезжают."));
  const newer = await fileRoutedMessage(filer, body("Просел люк на улице Холодильной напротив остановки, колёса бьются о край."));
  const hrefs = (page) => page.locator("table.queue tbody tr a").evaluateAll((links) => links.map((l) => l.getAttribute("href")));
  const href = (m) => `/messages/${m.id}`;
  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const page = await signInAs(env, "official-sergey");
    await page.setViewportSize(size);
    await page.goto(`/queue?q=${encodeURIComponent("Холодильная")}`);
    await page.locator(`table.queue tbody tr a[href="${href(older)}"]`).waitFor();
    assert.equal(await page.getByLabel("Порядок").inputValue(), "", "nearest deadline first by default");
    await page.getByLabel("Порядок").selectOption("newest");
    await page.waitForURL((u) => u.searchParams.get("sort") === "newest" && u.searchParams.get("q") === "Холодильная");
    await page.waitForFunction((first) => document.querySelector("table.queue tbody tr a")?.getAttribute("href") === first, href(newer));
    assert.deepEqual(await hrefs(page), [href(newer), href(older)], "newest first");
    await page.getByLabel("Порядок").selectOption("oldest");
    await page.waitForURL((u) => u.searchParams.get("sort") === "oldest");
    await page.waitForFunction((first) => document.querySelector("table.queue tbody tr a")?.getAttribute("href") === first, href(older));
    assert.deepEqual(await hrefs(page), [href(older), href(newer)], "oldest first");
    // Open one and come back: the order stays.
    await page.locator(`table.queue tbody tr a[href="${href(newer)}"]`).click();
    await page.waitForURL(/\/messages\//);
    await page.goBack();
    await page.locator(`table.queue tbody tr a[href="${href(newer)}"]`).waitFor();
    assert.equal(await page.getByLabel("Порядок").inputValue(), "oldest");
    assert.deepEqual(await hrefs(page), [href(older), href(newer)]);
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `the queue is ${scroll} px wide on a ${width} px screen`);
    await axe(page, `${size.width}px: official queue sorted oldest first`);
    await page.close();
  }
});

test("a moderator lists the messages awaiting moderation from the navigation", async (env) => {
  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    const page = await signInAs(env, "moderator-elena");
    await page.setViewportSize(size);
    await page.goto("/moderation");
    const link = page.locator('nav.mainnav a[href="/moderation/messages"]').first();
    const more = page.getByRole("button", { name: "Ещё" });
    // The navigation renders after the session loads: wait for the link or, on a phone, «Ещё».
    await link.or(more).first().waitFor();
    if (!(await link.isVisible())) await more.click();
    await link.click();
    await page.waitForURL(/\/moderation\/messages$/);
    await page.getByRole("heading", { name: "Сообщения на модерации" }).waitFor();
    const moderator = await as("moderator-elena");
    const listed = await moderator.get("/v1/moderation/messages");
    if (listed.items.length === 0) await page.getByText("Сообщений на модерации нет.").waitFor();
    else await page.getByRole("list", { name: "Сообщения на модерации" }).waitFor();
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `the page is ${scroll} px wide on a ${width} px screen`);
    await axe(page, `${size.width}px: messages awaiting moderation`);
    await page.close();
  }
});


test("a resident sees the unread badge, and the notifications are read once viewed", async (env) => {
  const olga = await as("resident-olga");
  await fileRoutedMessage(olga, { category_id: "dorogi-yamy", municipality_id: "tyumen", address: "г. Тюмень, ул. Ленина, 12", text: "Яма у остановки на улице Ленина, колёса бьются о край, после дождя её не видно." });
  const count = await until("olga's unread", async () => {
    const u = await olga.get("/v1/me/notifications/unread");
    return u.unread >= 1 && !u.capped && u.unread;
  });
  const page = await signInAs(env, "resident-olga");
  for (const size of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    await page.setViewportSize(size);
    await page.goto("/messages");
    await page.getByRole("link", { name: `Уведомления, ${count} непрочитанных` }).waitFor();
    await axe(page, `${size.width}px: unread badge`);
  }
  await page.getByRole("link", { name: `Уведомления, ${count} непрочитанных` }).click();
  await page.waitForURL(/\/notifications$/);
  await page.locator('li[data-read="no"]').first().waitFor();
  await page.getByRole("link", { name: "Уведомления, 0 непрочитанных" }).waitFor();
  const after = await olga.get("/v1/me/notifications?limit=20");
  assert.ok(after.items.every((n) => n.read), "every notification shown is read");
  assert.equal((await olga.get("/v1/me/notifications/unread")).unread, 0);
  await page.reload();
  await page.locator('li[data-read="yes"]').first().waitFor();
  assert.equal(await page.locator('li[data-read="no"]').count(), 0);
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `the notifications are ${scroll} px wide on a ${width} px screen`);
  await axe(page, "phone: notifications read");
  await page.close();
});

test("the resident reads the answer and rates it 5", async (env) => {
  const anna = await as("resident-anna");
  const message = await routedPothole(anna, "Яма у остановки «Республики» снова открылась после дождя, глубина около 15 см.");
  await answerMessage(await as("official-sergey"), message.id, ANSWER_TEXT);
  // The notifications of the routing and of the answer are delivered in the background.
  await until("notifications of routing and answer", async () => {
    const { items } = await anna.get("/v1/me/notifications?limit=100");
    const kinds = items.filter((n) => n.message_id === message.id).map((n) => n.kind);
    return kinds.includes("routed") && kinds.includes("answered");
  });
  const page = await signInAs(env, "resident-anna");
  await page.goto(`/messages/${message.id}`);
  await page.getByTestId("answer").getByText(ANSWER_TEXT).waitFor();
  await page.getByRole("heading", { name: "Оцените ответ" }).waitFor();
  await axe(page, "message (answered)");
  // Five stars with words under them, each a 48 px target; the radios behind them keep the keyboard.
  const star = page.locator("label.star", { hasText: "отлично" });
  const box = await star.boundingBox();
  assert.ok(box.width >= 48 && box.height >= 48, `a star is ${box.width}×${box.height} px`);
  await star.click();
  assert.ok(await page.getByRole("radio", { name: "5 из 5 — отлично" }).isChecked());
  assert.equal(await page.locator("label.star.star-on").count(), 5);
  await page.getByLabel("Комментарий (необязательно)").fill("Спасибо, быстро.");
  await shot(page, "04-message-answered");
  await page.getByRole("button", { name: "Отправить оценку" }).click();
  await page.getByTestId("rating").getByText("5 из 5").waitFor();
  await page.getByTestId("done").getByText("Спасибо за оценку!").waitFor();
  await page.getByRole("heading", { name: "Ход рассмотрения" }).waitFor();
  await page.locator(".timeline").getByText("Закрыто", { exact: true }).waitFor();
  await page.locator(".badge", { hasText: "Закрыто" }).first().waitFor();
  await page.goto("/notifications");
  await page.locator(".cards li").first().waitFor();
  assert.ok((await page.locator(".cards li").count()) >= 2, "notifications of routing and answer");
  await axe(page, "notifications");
  await shot(page, "16-notifications");
});

test("an admin creates a poll; a past close gets the API's message beside the field", async (env) => {
  const page = await signInAs(env, "admin-dmitry");
  await page.goto("/admin/polls/new");
  // Admins reach the discussions from the navigation.
  await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Обсуждения" }).waitFor();
  // By default a poll closes at the end of the day a week from now, region time.
  assert.match(await page.getByLabel("Окончание").inputValue(), /T23:59$/);
  await page.getByLabel("Название").fill("Где благоустроить общественное пространство в 2027 году?");
  // A question without text: its error is shown once, beside the field it names.
  await page.getByLabel(/Варианты ответа/).fill("Да\nНет");
  await page.getByRole("button", { name: "Создать", exact: true }).click();
  const questionError = page.locator(".question .field-error");
  await questionError.first().waitFor();
  assert.equal(await questionError.count(), 1, "the question's error is shown once");
  assert.equal(await page.locator(".field-invalid", { has: page.getByLabel("Текст вопроса") }).locator(".field-error").count(), 1);
  await page.getByLabel("Текст вопроса").fill("Выберите место");
  await page.getByLabel(/Варианты ответа/).fill("Парк у набережной\nСквер на улице Ленина\nДвор школы № 5");
  // The form takes times in the region's zone.
  const { region } = await config();
  const local = (ms) =>
    new Intl.DateTimeFormat("sv-SE", { timeZone: region.time_zone, dateStyle: "short", timeStyle: "medium" })
      .format(new Date(Date.now() + ms))
      .replace(" ", "T");
  await page.getByLabel("Окончание").fill(await local(-3600_000));
  await page.getByRole("button", { name: "Создать", exact: true }).click();
  const closesError = page.locator(".field-invalid", { has: page.getByLabel("Окончание") }).locator(".field-error");
  await closesError.waitFor();
  assert.match(await closesError.textContent(), /прошлом|позже/);
  assert.doesNotMatch(await closesError.textContent(), /_at/, "field names are said in Russian");
  assert.equal(await page.getByLabel("Название").inputValue(), "Где благоустроить общественное пространство в 2027 году?");
  // The preview shows the ballot as residents will see it, before anything is published.
  await page.getByRole("button", { name: "Предпросмотр" }).click();
  const preview = page.getByTestId("poll-preview");
  await preview.getByRole("heading", { name: "Где благоустроить общественное пространство в 2027 году?" }).waitFor();
  assert.equal(await preview.locator("legend").first().textContent(), "Выберите место");
  assert.deepEqual(await preview.locator("label").allTextContents(), ["Парк у набережной", "Сквер на улице Ленина", "Двор школы № 5"]);
  await allControlsFocusable(page, "poll form");
  await axe(page, "poll form");
  await shot(page, "09-admin-new-poll");
  await page.getByLabel("Окончание").fill(await local(3_600_000));
  await page.getByRole("button", { name: "Создать", exact: true }).click();
  await page.waitForURL(/\/polls\/[0-9A-Z]{26}/);
  await page.getByText("Итоги будут опубликованы после завершения голосования").waitFor();
  // Until it closes, the admin can cancel it, after saying so twice.
  await page.getByRole("button", { name: "Отменить голосование" }).click();
  await page.getByRole("alert").getByText(/бюллетени будут уничтожены без подсчёта/).waitFor();
  await axe(page, "poll cancel");
  await page.getByRole("button", { name: "Да, отменить" }).click();
  await page.locator(".badge", { hasText: "Отменено" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Отменить голосование" }).count(), 0);
});

async function vote(page, title, option) {
  await page.goto("/polls");
  await page.getByRole("link", { name: title }).click();
  await page.getByRole("heading", { name: "Бюллетень" }).waitFor();
  await page.getByRole("radio", { name: option }).check();
  await page.getByRole("button", { name: "Проголосовать" }).click();
  const receipt = await page.getByTestId("receipt").textContent();
  assert.ok(receipt && receipt.length >= 16, "a receipt is shown");
  return receipt;
}

test("two residents vote and check their receipts", async (env) => {
  const title = "Какой двор благоустроить первым в 2027 году?";
  const poll = await createVote(await as("admin-dmitry"), { title, question: "Выберите двор", options: ["Двор на улице Мельникайте, 100", "Сквер на улице Ленина", "Двор школы № 5"], closesInMs: 3_600_000 });
  const anna = await signInAs(env, "resident-anna");
  await anna.goto("/polls");
  await axe(anna, "poll list");
  await anna.getByRole("link", { name: title }).click();
  await anna.getByRole("heading", { name: "Бюллетень" }).waitFor();
  await axe(anna, "ballot");
  await shot(anna, "07-ballot");
  const r1 = await vote(anna, title, "Сквер на улице Ленина");
  // The second resident votes with the keyboard alone.
  const ivan = await signInAs(env, "resident-ivan");
  await ivan.goto(`/polls/${poll.id}`);
  await ivan.getByRole("heading", { name: "Бюллетень" }).waitFor();
  await tabTo(ivan, 'input[type="radio"]');
  await ivan.keyboard.press("ArrowDown");
  assert.ok(await ivan.getByRole("radio", { name: "Сквер на улице Ленина" }).isChecked());
  await tabTo(ivan, 'button[type="submit"]');
  await ivan.keyboard.press("Enter");
  const r2 = await ivan.getByTestId("receipt").textContent();
  assert.notEqual(r1, r2);
  await ivan.getByText("Итоги будут опубликованы после завершения").waitFor();
  await ivan.goto("/receipt");
  await ivan.getByLabel("Код квитанции").fill("not-a-receipt");
  await ivan.getByRole("button", { name: "Проверить" }).click();
  await ivan.locator(".field-error", { hasText: "такой квитанции нет" }).waitFor();
  await ivan.getByLabel("Код квитанции").fill(r2);
  await ivan.getByRole("button", { name: "Проверить" }).click();
  await ivan.getByText("Бюллетень засчитан.").waitFor();
  await axe(ivan, "receipt check");
});

test("a survey: several questions of each kind, answered, with live results", async (env) => {
  const admin = await signInAs(env, "admin-dmitry");
  await admin.goto("/admin/polls/new");
  await admin.getByRole("radio", { name: /Опрос/ }).check();
  await admin.getByLabel("Название").fill("Опрос о благоустройстве улиц");
  const q1 = admin.locator("fieldset.question").nth(0);
  await q1.getByLabel("Текст вопроса").fill("Что улучшить в первую очередь?");
  await q1.getByLabel("Тип ответа").selectOption("multi");
  await q1.getByLabel(/Варианты ответа/).fill("Освещение\nТротуары\nОстановки");
  await q1.getByLabel("Сколько вариантов можно выбрать").fill("2");
  await admin.getByRole("button", { name: "Добавить вопрос" }).click();
  const q2 = admin.locator("fieldset.question").nth(1);
  await q2.getByLabel("Текст вопроса").fill("Ваши предложения");
  await q2.getByLabel("Тип ответа").selectOption("text");
  await q2.getByLabel("Обязательный вопрос").uncheck();
  await admin.getByRole("radio", { name: "Показывать во время голосования" }).check();
  await admin.getByRole("button", { name: "Создать", exact: true }).click();
  await admin.waitForURL(/\/polls\/[0-9A-Z]{26}/);
  const url = new URL(admin.url()).pathname;

  const olga = await signInAs(env, "resident-olga");
  await olga.goto(url);
  await olga.getByRole("heading", { name: "Бюллетень" }).waitFor();
  await olga.getByRole("button", { name: "Проголосовать" }).click();
  await olga.locator(".field-error", { hasText: "ответьте на этот вопрос" }).first().waitFor();
  await olga.getByRole("checkbox", { name: "Освещение" }).check();
  await olga.getByRole("checkbox", { name: "Остановки" }).check();
  await olga.getByLabel("2. Ваши предложения").fill("Больше скамеек у остановок");
  await axe(olga, "survey ballot");
  await olga.getByRole("button", { name: "Проголосовать" }).click();
  await olga.getByTestId("receipt").waitFor();
  const results = olga.getByTestId("results");
  await results.getByRole("heading", { name: "Промежуточные итоги" }).waitFor();
  await results.getByText("Освещение: 1 (100 %)").waitFor();
  await results.getByText("Тротуары: 0 (0 %)").waitFor();
  await results.getByText(/Ваши предложения: 1 ответ/).waitFor();
  await olga.close();
});

/** The figures of a chart's data table row, by its first cell. */
async function tableRow(chart, label) {
  const row = chart.locator("tbody tr").filter({ has: chart.page().locator("th", { hasText: label }) });
  await row.waitFor();
  return row.locator("td").allTextContents();
}

test("the dashboard shows the counts as charts, with a range picker and CSV", async (env) => {
  // Its own figures: a message in a category and to an authority that no other test uses,
  // answered and rated 5, and a vote with twelve ballots from Tyumen, ten from Ishim and two
  // from Tobolsk: Tobolsk is under ten, and Ishim, the smallest other group, is hidden with it.
  const birthdate = "1990-05-20";
  const resident = await as({ sub: "e2e-dashboard-resident", roles: ["citizen"], municipality: "tobolsk", birthdate });
  const message = await fileRoutedMessage(resident, { category_id: "zdravookhranenie-zapis", text: "В поликлинике № 3 Тобольска две недели нет записи к терапевту через портал." });
  assert.equal(message.authority_id, "dz-72");
  await answerMessage(await as({ sub: "e2e-dashboard-official", roles: ["official"], authority: "dz-72" }), message.id, "Запись к терапевтам поликлиники № 3 открыта на месяц вперёд.");
  await resident.post(`/v1/messages/${message.id}/rating`, { score: 5 });
  const admin = await as("admin-dmitry");
  const title = "Где открыть площадку для выгула собак?";
  const poll = await createVote(admin, { title, question: "Выберите место", options: ["Парк Победы", "Набережная Иртыша"], closesInMs: 3_600_000 });
  const voters = [...Array(12).fill("tyumen"), ...Array(10).fill("ishim"), "tobolsk", "tobolsk"];
  for (const [i, municipality] of voters.entries()) {
    await castVote(await as({ sub: `e2e-dashboard-voter-${i}`, roles: ["citizen"], municipality, birthdate }), poll.id, 0);
  }
  // The counters behind the charts are kept up in the background.
  await until("the rating in the analytics", async () => {
    const { groups } = await admin.get("/v1/analytics/messages?group_by=category");
    return groups.some((g) => g.key === "zdravookhranenie-zapis" && g.rating_count === 1);
  });

  const page = await signInAs(env, "admin-dmitry");
  await page.goto("/dashboard");
  // The headline figures are the region's: this test's message is one of them.
  await page.getByTestId("kpi-submitted").filter({ hasText: /^[1-9]\d*$/ }).waitFor();
  await page.getByTestId("kpi-answered").filter({ hasText: /^[1-9]\d*$/ }).waitFor();
  await page.getByTestId("kpi-rating").filter({ hasText: /^[1-5]\.\d$/ }).waitFor();
  for (const id of ["chart-category", "chart-municipality", "chart-day", "chart-status"]) {
    await page.getByTestId(id).locator("canvas").waitFor();
  }
  const category = page.getByTestId("chart-category");
  await category.locator("summary").click();
  assert.deepEqual(await tableRow(category, "Запись к врачу"), ["1", "1"], "submitted and answered");
  // No authority has 20 answers here: none is ranked, and every one is in the table, marked.
  const ranking = page.getByTestId("ranking");
  await ranking.getByTestId("ranking-few").waitFor();
  assert.equal(await ranking.getByTestId("chart-authorities").count(), 0, "one quick answer ranks no one");
  const health = await tableRow(ranking, "Департамент здравоохранения Тюменской области");
  assert.deepEqual(health.slice(0, 4), ["1", "100\u00a0%", "0", "100\u00a0%"], "answered, on time, overdue, rated 4–5");
  await ranking.locator("tbody tr", { hasText: "Департамент здравоохранения" }).getByText("мало данных").waitFor();
  // Every column sorts, both ways.
  const answeredHeader = ranking.locator("th", { hasText: "Ответов" });
  await answeredHeader.getByRole("button").click();
  assert.equal(await answeredHeader.getAttribute("aria-sort"), "ascending");
  await answeredHeader.getByRole("button").click();
  assert.equal(await answeredHeader.getAttribute("aria-sort"), "descending");
  const answeredColumn = (await ranking.locator("tbody tr td:nth-of-type(1)").allTextContents()).map(Number);
  assert.deepEqual(answeredColumn, [...answeredColumn].sort((a, b) => b - a), "most answers first");
  await page.getByTestId("kpi-in-progress").waitFor();
  await page.getByTestId("kpi-overdue").waitFor();
  await page.getByLabel("Голосование", { exact: true }).selectOption({ label: title });
  const turnout = page.getByTestId("chart-turnout");
  await turnout.locator("canvas").waitFor();
  await turnout.locator("summary").click();
  assert.deepEqual(await tableRow(turnout, "город Тюмень"), ["12"], "ballots from Tyumen");
  assert.equal(await turnout.locator("th", { hasText: "город Тобольск" }).count(), 0, "Tobolsk has no bar");
  await page.getByTestId("turnout-hidden").filter({ hasText: "город Ишим, город Тобольск" }).waitFor();
  await axe(page, "dashboard");
  await shot(page, "10-dashboard");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "CSV для обработки" }).click()]);
  const csv = Buffer.concat(await (await download.createReadStream()).toArray());
  assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], "the CSV starts with a byte order mark");
  const text = csv.toString("utf8");
  assert.match(text.split("\r\n")[0], /submitted/);
  assert.match(text, /zdravookhranenie-zapis/);
  const [sheet] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Скачать Excel по категориям" }).click()]);
  assert.match(sheet.suggestedFilename(), /^messages-category-.*\.xlsx$/);
  const book = Buffer.concat(await (await sheet.createReadStream()).toArray());
  assert.equal(book.subarray(0, 4).toString("binary"), "PK\x03\x04", "the spreadsheet is a zip container");
  // A year is drawn a point a month, not 365 points.
  await page.getByRole("button", { name: "Год" }).click();
  await page.getByTestId("chart-day").getByText("Динамика по месяцам").waitFor();
  // On a phone nothing is wider than the screen: the table scrolls inside its box.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `the dashboard is ${scroll} px wide on a ${width} px screen`);
  await page.setViewportSize({ width: 1280, height: 900 });
  // A range the API refuses: its message is shown and the typed dates stay.
  await page.getByLabel("С", { exact: true }).fill("2020-01-01");
  await page.getByRole("button", { name: "Показать" }).click();
  await page.locator(".field-error", { hasText: "366" }).waitFor();
  assert.equal(await page.getByLabel("С", { exact: true }).inputValue(), "2020-01-01");
  await allControlsFocusable(page, "dashboard");
  // An official's dashboard is their authority's: titled for it, counting what it received.
  await routedPothole(resident, "Яма у остановки «Площадь Центральная», вода стоит после дождя.");
  const official = await signInAs(env, "official-sergey");
  await official.goto("/dashboard");
  await official.getByRole("heading", { level: 1, name: `Показатели: ${TYUMEN_ADMIN}` }).waitFor();
  await official.getByTestId("kpi-submitted").filter({ hasText: /^[1-9]\d*$/ }).waitFor();
  const received = official.getByTestId("chart-category");
  await received.locator("summary").click();
  const potholes = await tableRow(received, "Ямы на дорогах");
  assert.ok(Number(potholes[0]) >= 1, `received potholes: ${potholes}`);
  assert.equal(await received.locator("thead th", { hasText: "Поступило" }).count(), 1);
});

test("the routing rules editor checks rows against the reference data and saves", async (env) => {
  const page = await signInAs(env, "admin-dmitry");
  await page.goto("/admin/routing");
  const count = async () => Number((await page.locator("table.rules caption").textContent()).match(/Правил: (\d+)/)[1]);
  await page.locator("table.rules tbody tr").first().waitFor();
  const before = await count();
  assert.ok(before >= 10);
  assert.equal(await page.locator("table.rules tbody tr").count(), 20, "one page of rules");
  await page.getByRole("button", { name: "Добавить правило" }).click();
  await page.getByRole("button", { name: "Сохранить правила" }).click();
  const last = page.locator("table.rules tbody tr").last();
  await last.locator(".field-error", { hasText: "выберите категорию" }).waitFor();
  await page.getByText(`Ошибки в правилах: № ${before + 1}`).waitFor();
  await last.getByLabel(/Категория правила/).selectOption("dorogi-yamy");
  await last.getByLabel(/Муниципалитет правила/).selectOption("tyumen");
  await last.getByLabel(/Орган власти правила/).selectOption("adm-tyumen");
  // The API checks the rules against its reference data too; its answer is shown beside the row.
  // (The request is altered on the way, as a stale page or another admin's change would.)
  await page.route("**/v1/routing-rules", async (route) => {
    const rules = JSON.parse(route.request().postData());
    rules[rules.length - 1].authority_id = "adm-nowhere";
    await route.continue({ postData: JSON.stringify(rules) });
  }, { times: 1 });
  await page.getByRole("button", { name: "Сохранить правила" }).click();
  await last.locator(".field-error", { hasText: "неизвестный орган власти «adm-nowhere»" }).waitFor();
  assert.equal(await last.getByLabel(/Орган власти правила/).inputValue(), "adm-tyumen", "what was chosen stays");
  await axe(page, "routing rules");
  await shot(page, "11-routing-rules");
  await page.getByRole("button", { name: "Сохранить правила" }).click();
  await page.getByText("Правила сохранены.").waitFor();
  await page.reload();
  await page.locator("table.rules tbody tr").first().waitFor();
  assert.equal(await count(), before + 1);
  await page.getByLabel("Найти правило").fill("Ямы на дорогах");
  await page.locator("table.rules tbody tr", { has: page.locator("option[value='tyumen']:checked") }).first().waitFor();
});

test("after the close the results chart appears", async (env) => {
  // A vote that closes a few seconds after two residents' ballots; the host closes it itself.
  const poll = await createVote(await as("admin-dmitry"), { title: "Где поставить новую детскую площадку?", question: "Выберите место", options: ["Двор на улице Пермякова", "Сквер на улице Ленина"], closesInMs: 5_000 });
  const anna = await as("resident-anna");
  for (const resident of [anna, await as("resident-ivan")]) await castVote(resident, poll.id, 1);
  await until("the vote closed", async () => (await anna.get(`/v1/polls/${poll.id}`)).status === "closed");
  const page = await signInAs(env, "resident-anna");
  await page.goto(`/polls/${poll.id}`);
  const results = page.getByTestId("results");
  await results.getByRole("heading", { name: "Итоги" }).waitFor();
  await results.getByText("Всего 2 бюллетеня").waitFor();
  await results.getByText("Сквер на улице Ленина: 2 (100 %)").waitFor();
  const canvas = results.locator("canvas");
  await canvas.waitFor();
  const drawn = await canvas.evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
  assert.ok(drawn > 500, `the chart is drawn (${drawn} pixels)`);
  await axe(page, "poll results");
  await shot(page, "08-poll-results");
});

test("discussions: threaded comments and flagging", async (env) => {
  const admin = await signInAs(env, "admin-dmitry");
  await admin.goto("/admin/discussions/new");
  await admin.getByLabel("Название").fill("Как улучшить общественный транспорт Тюмени?");
  await admin.getByLabel("Описание").fill("Предложения по маршрутам и расписанию.");
  await axe(admin, "discussion form");
  await admin.getByRole("button", { name: "Создать обсуждение" }).click();
  await admin.waitForURL(/\/discussions\/[0-9A-Z]{26}/);
  const url = new URL(admin.url()).pathname;
  const anna = await signInAs(env, "resident-anna");
  await anna.goto(url);
  await anna.getByLabel("Ваш комментарий").fill("Нужен ночной автобус до Тарманов.");
  await anna.getByRole("button", { name: "Отправить" }).click();
  await anna.locator(".comment", { hasText: "ночной автобус" }).waitFor();
  const ivan = await signInAs(env, "resident-ivan");
  await ivan.goto(url);
  const comment = ivan.locator(".comment", { hasText: "ночной автобус" });
  await comment.getByRole("button", { name: "Ответить" }).click();
  await comment.getByLabel("Ответ на комментарий").fill("Поддерживаю, и по выходным тоже.");
  await comment.getByRole("button", { name: "Отправить" }).click();
  await ivan.locator(".thread-nested .comment", { hasText: "по выходным" }).waitFor();
  await ivan.locator(".comment", { hasText: "ночной автобус" }).getByRole("button", { name: "Пожаловаться" }).click();
  await ivan.getByLabel("Причина жалобы").fill("Не по теме");
  await ivan.getByRole("button", { name: "Отправить жалобу" }).click();
  await ivan.getByText("Жалоба отправлена модератору.").waitFor();
  await axe(ivan, "discussion");
  await shot(ivan, "12-discussion");
  // The moderator sees the comment in the queue with the reason the flagger gave.
  const moderator = await signInAs(env, "moderator-elena");
  await moderator.goto("/moderation");
  const flagged = moderator.locator(".thread > li", { hasText: "ночной автобус" });
  await flagged.locator(".flag-reasons li", { hasText: "Не по теме" }).waitFor();
  await axe(moderator, "moderation queue with flag reasons");
  await moderator.close();
});

test("keyboard only: sign in and submit a message without the mouse", async (env) => {
  const page = await env.context.newPage();
  await page.goto("/login?return=/new");
  await page.locator('button[data-sub="resident-olga"]').waitFor();
  await tabTo(page, 'button[data-sub="resident-olga"]');
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/new$/);
  await page.getByLabel("Поиск категории").waitFor();
  await tabTo(page, 'input[type="search"]');
  await page.keyboard.type("мусор");
  await tabTo(page, 'input[type="radio"]');
  await page.keyboard.press("Space");
  await tabTo(page, "textarea");
  await page.keyboard.type("Контейнерная площадка переполнена третий день, мусор разносит ветром.");
  await tabTo(page, 'button[type="submit"]');
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/messages\/[0-9A-Z]{26}/);
  await page.locator(".badge", { hasText: /Направлено|Отправлено/ }).first().waitFor();
  await page.close();
});

test("the widget, framed by an authority's site on another origin, takes its presets and signs in by a window", async (env) => {
  // The authority's site: another origin (and another site: localhost, not 127.0.0.1).
  const widgetUrl = `${BASE_URL}/widget?category=dorogi-yamy&authority=adm-tyumen`;
  const site = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Администрация города Тюмени</title></head>
      <body style="font-family:sans-serif;margin:0;background:#eef2f7"><header style="background:#7a1f1f;color:#fff;padding:12px 24px">
      <strong>Администрация города Тюмени</strong> — официальный сайт</header><main style="max-width:820px;margin:16px auto">
      <h1 style="font-size:22px">Обратная связь</h1><iframe src="${widgetUrl}" title="Сообщить о проблеме" width="100%" height="1000" style="border:0;background:#fff"></iframe></main></body></html>`);
  });
  await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
  try {
    const page = await env.context.newPage();
    await page.bringToFront();
    await page.goto(`http://localhost:${site.address().port}/`);
    const widget = page.frameLocator("iframe");
    await widget.getByText(TYUMEN_ADMIN).waitFor();
    const [popup] = await Promise.all([page.waitForEvent("popup"), widget.getByRole("button", { name: "Войти, чтобы отправить сообщение" }).click()]);
    await signInInWindow(popup, "resident-ivan");
    await widget.getByText("Категория:").waitFor();
    await widget.locator(".preset", { hasText: "Ямы на дорогах" }).waitFor();
    assert.equal(await widget.getByLabel("Муниципальное образование").inputValue(), "tyumen");
    await widget.getByLabel("Текст сообщения").fill("Вторая яма рядом с остановкой «Площадь Борцов Революции».");
    await axe(page.frames().find((f) => f.url().startsWith(`${BASE_URL}/widget`)), "widget (framed)");
    await shot(page, "13-widget");
    await widget.getByRole("button", { name: "Отправить сообщение" }).click();
    await widget.getByText(/принято/).waitFor();
    assert.match((await widget.locator(".alert-ok .nowrap").textContent()).trim(), /^72-\d{6,}$/, "the number a person can say");
    await page.close();
  } finally {
    site.closeAllConnections();
    site.close();
  }
});

test("an official redirects a message to the coordination centre; a moderator rejects one with a reason code", async (env) => {
  const message = await routedPothole(await as("resident-ivan"), "Вторая яма рядом с остановкой «Площадь Борцов Революции», на том же участке дороги.");
  const official = await signInAs(env, "official-sergey");
  await official.goto(`/messages/${message.id}`);
  await official.getByLabel("Поиск органа власти").fill("Центр управления");
  await official.getByLabel("Орган власти", { exact: true }).selectOption("tsur-72");
  await official.getByRole("button", { name: "Перенаправить" }).click();
  await official.getByText("Сообщение перенаправлено.").waitFor();
  await official.getByTestId("authority").getByText("Центр управления регионом Тюменской области").waitFor();
  await official.close();

  const moderator = await signInAs(env, "moderator-elena");
  assert.match(moderator.url(), /\/moderation$/);
  await moderator.getByLabel("Номер сообщения").fill("не номер");
  await moderator.getByRole("button", { name: "Открыть" }).click();
  await moderator.locator(".field-error", { hasText: "26 латинских букв" }).waitFor();
  assert.match(message.number, /^72-\d{6,}$/);
  await moderator.getByLabel("Номер сообщения").fill(message.number);
  await moderator.getByRole("button", { name: "Открыть" }).click();
  await moderator.waitForURL(/\/messages\//);
  await moderator.getByRole("button", { name: "Отклонить сообщение" }).click();
  const reasonError = moderator.locator(".field-invalid", { has: moderator.getByLabel("Причина отклонения") }).locator(".field-error");
  await reasonError.waitFor();
  assert.equal(await moderator.getByLabel("Причина отклонения").inputValue(), "");
  await moderator.getByLabel("Причина отклонения").selectOption("duplicate");
  await moderator.getByLabel("Комментарий (необязательно)").fill("Повтор сообщения о яме на ул. Республики");
  await allControlsFocusable(moderator, "moderator actions");
  await axe(moderator, "moderator message actions");
  await shot(moderator, "14-moderator-reject");
  await moderator.getByRole("button", { name: "Отклонить сообщение" }).click();
  await moderator.getByText("Сообщение отклонено.").waitFor();
  await moderator.locator(".badge", { hasText: "Отклонено" }).first().waitFor();
  await moderator.close();
});

/** Starts `feedback serve --auth oidc` against the test provider; resolves with its URL. */
async function serveOidc(provider, audience) {
  const bin = process.env.FEEDBACK_BIN;
  assert.ok(bin, "FEEDBACK_BIN is not set: run scripts/e2e.sh");
  const dir = mkdtempSync(join(tmpdir(), "feedback-e2e-oidc-"));
  writeFileSync(join(dir, "jwks.json"), JSON.stringify(provider.jwks));
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const child = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--data", join(dir, "data"), "--auth", "oidc", "--issuer", provider.issuer, "--audience", audience, "--jwks", join(dir, "jwks.json"), "--schedule-every", "1s"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`feedback serve --auth oidc did not start:\n${out}`)), 30000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("error", (e) => reject(new Error(`feedback serve --auth oidc could not start: ${e.message}`)));
    child.on("exit", (code) => reject(new Error(`feedback serve --auth oidc exited with ${code}:\n${out}`)));
  });
  return {
    url,
    stop: () => {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("production sign-in: OIDC authorization code with PKCE against the region's provider", async (env) => {
  const audience = "feedback-portal";
  const provider = await startProvider({ clientId: audience, claims: { sub: "resident-oidc", roles: ["citizen"], region: "72", municipality: "tyumen", name: "Пётр Иванов" } });
  const server = await serveOidc(provider, audience);
  try {
    const cfg = await (await fetch(`${server.url}/config.json`)).json();
    assert.deepEqual([cfg.auth, cfg.issuer, cfg.client_id], ["oidc", provider.issuer, audience]);
    assert.equal(cfg.demo_users, undefined);
    assert.equal((await fetch(`${server.url}/v1/dev/tokens`, { method: "POST" })).status, 404);
    const csp = (await fetch(`${server.url}/login`)).headers.get("content-security-policy");
    assert.ok(csp.includes(`connect-src 'self' ${provider.issuer};`), csp);
    const page = await env.context.newPage();
    await page.goto(`${server.url}/messages`);
    await page.waitForURL(/\/login\?return=/);
    await axe(page, "sign-in (OIDC)");
    await shot(page, "15-sign-in-oidc");
    await page.getByRole("button", { name: "Войти через систему идентификации" }).click();
    await page.waitForURL(`${server.url}/messages`);
    await page.getByText("Сообщений пока нет.").waitFor();
    await page.getByText("Пётр Иванов").waitFor();
    assert.equal(provider.seen.authorize, 1);
    assert.equal(provider.seen.token, 1);
    // A callback that does not belong to a sign-in started here is refused.
    await page.goto(`${server.url}/auth/callback?code=forged&state=forged`);
    await page.getByText("ответ поставщика входа не относится к этому входу").waitFor();
    assert.equal(provider.seen.token, 1, "a forged callback never reaches the token endpoint");
    await page.close();
  } finally {
    server.stop();
    await provider.close();
  }
});

test("a resident sets notification preferences, finds them after a reload, and adds and deletes a subscription", async (env) => {
  const page = await signInAs(env, "resident-anna");
  await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Уведомления и подписки" }).click();
  await page.getByRole("heading", { name: "Уведомления и подписки", level: 1 }).waitFor();
  const prefs = page.getByTestId("preferences");
  await prefs.getByLabel("Push-уведомления").waitFor();
  await axe(page, "notifications and subscriptions");
  await allControlsFocusable(page, "notifications and subscriptions");
  await prefs.getByLabel("Push-уведомления").check();
  await prefs.getByLabel("Сводкой раз в неделю").check();
  await prefs.getByLabel("Не беспокоить в это время").check();
  await prefs.getByLabel("С (ЧЧ:ММ)").fill("23:00");
  await prefs.getByLabel("До (ЧЧ:ММ)").fill("07:30");
  await prefs.getByRole("button", { name: "Сохранить настройки" }).click();
  await page.getByText("Настройки сохранены.").waitFor();

  await page.reload();
  await prefs.getByLabel("Push-уведомления").waitFor();
  assert.ok(await prefs.getByLabel("Push-уведомления").isChecked(), "push is kept");
  assert.ok(await prefs.getByLabel("Сводкой раз в неделю").isChecked(), "the weekly digest is kept");
  assert.equal(await prefs.getByLabel("С (ЧЧ:ММ)").inputValue(), "23:00");
  assert.equal(await prefs.getByLabel("До (ЧЧ:ММ)").inputValue(), "07:30");
  const stored = await (await as("resident-anna")).get("/v1/me/preferences");
  assert.deepEqual(stored, { channels: { email: false, push: true, sms: false }, digest: "weekly", quiet_hours: { from: "23:00", to: "07:30" } });

  const form = page.getByTestId("subscribe");
  await form.getByRole("combobox", { name: "Муниципальное образование" }).selectOption("tyumen");
  await form.getByRole("combobox", { name: "Тема" }).selectOption("dorogi-yamy");
  await form.getByRole("button", { name: "Подписаться" }).click();
  await page.getByText("Подписка добавлена.").waitFor();
  const list = page.getByTestId("subscriptions");
  await list.waitFor();
  assert.equal(await list.getByRole("listitem").count(), 1);
  await axe(page, "notifications and subscriptions (one subscription)");
  await shot(page, "19-notifications-and-subscriptions");
  await list.getByRole("button", { name: /^Удалить подписку/ }).click();
  await page.getByText("Подписок пока нет.").waitFor();
  assert.deepEqual((await (await as("resident-anna")).get("/v1/me/subscriptions")).items, []);
});

test("a resident turns browser notifications on and off; the service worker and the public key are served", async (env) => {
  const sw = await fetch(`${BASE_URL}/sw.js`);
  assert.equal(sw.status, 200);
  assert.match(sw.headers.get("content-type"), /^text\/javascript/);
  assert.equal(sw.headers.get("cache-control"), "no-cache");
  const key = await fetch(`${BASE_URL}/v1/push/public-key`);
  assert.equal(key.headers.get("cache-control"), "public, max-age=3600");
  const { public_key } = await key.json();
  assert.equal(Buffer.from(public_key, "base64url").length, 65, "an uncompressed P-256 point");

  // Headless Chromium reaches no push service: the page's PushManager hands out a subscription
  // whose endpoint is a loopback receiver, which the host accepts with --allow-local-push.
  await env.context.grantPermissions(["notifications"], { origin: BASE_URL });
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const stub = { endpoint: `http://127.0.0.1:9/push/e2e-${Date.now()}`, p256dh: ecdh.getPublicKey().toString("base64url") };
  const page = await signInAs(env, "resident-ivan");
  await page.addInitScript(({ endpoint, p256dh }) => {
    const STORED = "e2e-push-subscription";
    const subscription = () => ({
      endpoint,
      expirationTime: null,
      toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth: "tBHItJI5svbpez7KI4CCXg" } }),
      unsubscribe: async () => {
        localStorage.removeItem(STORED);
        return true;
      },
    });
    PushManager.prototype.subscribe = async function (options) {
      if (!options?.applicationServerKey || options.applicationServerKey.byteLength !== 65) throw new Error("no application server key");
      localStorage.setItem(STORED, "1");
      return subscription();
    };
    PushManager.prototype.getSubscription = async function () {
      return localStorage.getItem(STORED) ? subscription() : null;
    };
  }, stub);
  await page.reload();
  await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Уведомления и подписки" }).click();
  const section = page.getByTestId("browser-push");
  await section.getByRole("heading", { name: "Уведомления в браузере" }).waitFor();
  const enable = section.getByRole("button", { name: "Включить уведомления в браузере" });
  await enable.waitFor();
  await axe(page, "browser notifications (off)");
  await enable.focus();
  await page.keyboard.press("Enter");
  await section.getByText("Включены в этом браузере").waitFor();
  await section.getByText(/Уведомления в этом браузере включены/).waitFor();
  const ivan = await as("resident-ivan");
  // Asking for push in a browser turns the push channel on, and the form above shows it.
  assert.equal((await ivan.get("/v1/me/preferences")).channels.push, true);
  assert.ok(await page.getByTestId("preferences").getByLabel("Push-уведомления").isChecked());
  const listed = (await ivan.get("/v1/me/push-subscriptions")).items;
  assert.equal(listed.length, 1, "the subscription was posted");
  assert.equal(listed[0].endpoint_origin, "http://127.0.0.1:9");
  assert.ok(await page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration("/"))), "the worker is registered at the root");
  await axe(page, "browser notifications (on)");

  await page.reload();
  await section.getByText("Включены в этом браузере").waitFor();
  const off = section.getByRole("button", { name: "Выключить" });
  await off.focus();
  await page.keyboard.press("Enter");
  await section.getByText("Уведомления в этом браузере выключены.").waitFor();
  await enable.waitFor();
  assert.deepEqual((await ivan.get("/v1/me/push-subscriptions")).items, [], "the subscription was deleted");
  assert.equal(await page.evaluate(() => localStorage.getItem("e2e-push-subscription")), null, "and unsubscribed in the browser");
  await axe(page, "browser notifications (turned off)");
});

test("a resident downloads their data and erases it; their message list is then empty", async (env) => {
  // Last in the suite: it erases resident-olga, whom no later test needs.
  const olga = await as("resident-olga");
  const message = await routedPothole(olga, "Открытый люк во дворе дома 15 по улице Республики, рядом детская площадка.");
  const page = await signInAs(env, "resident-olga");
  await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Мои данные" }).click();
  await page.getByRole("heading", { name: "Мои данные", level: 1 }).waitFor();
  await axe(page, "my data");
  await shot(page, "17-my-data");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Скачать мои данные" }).click()]);
  assert.match(download.suggestedFilename(), /\.json$/);
  const saved = JSON.parse(Buffer.concat(await (await download.createReadStream()).toArray()).toString("utf8"));
  assert.equal(saved.subject, "resident-olga");
  assert.ok(saved.messages.some((m) => m.message.id === message.id), "the export holds the message");
  assert.equal(saved.preferences.digest, "instant", "the defaults of someone who set nothing");
  assert.deepEqual(saved.subscriptions, []);

  await page.getByRole("button", { name: "Удалить мои данные" }).click();
  const word = page.getByLabel("Слово для подтверждения");
  await word.waitFor();
  assert.ok(await word.evaluate((el) => el === document.activeElement), "the confirmation takes the focus");
  const confirm = page.getByRole("button", { name: "Удалить безвозвратно" });
  assert.ok(await confirm.isDisabled(), "the erasure waits for the typed word");
  await axe(page, "my data (confirmation)");
  await word.fill("УДАЛИТЬ");
  await confirm.click();
  const report = page.getByTestId("erasure");
  await report.waitFor();
  assert.match(await report.innerText(), /сообщений обезличено: [1-9]/);
  await axe(page, "my data (erased)");
  await shot(page, "18-my-data-erased");

  await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Мои сообщения" }).click();
  await page.getByText("Сообщений пока нет.").waitFor();
  const official = await as("official-sergey");
  const kept = await official.get(`/v1/messages/${message.id}`);
  assert.equal(kept.history.at(-1).note, "Сведения об авторе обезличены");
});

test("an admin adds a webhook endpoint, sees its secret once, reads the delivery log, redelivers and disables", async (env) => {
  const received = [];
  const receiver = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ id: req.headers["webhook-id"], signature: req.headers["webhook-signature"], body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
  try {
    const page = await signInAs(env, "admin-dmitry");
    await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Вебхуки" }).click();
    await page.getByRole("heading", { name: "Вебхуки", level: 1 }).waitFor();
    const form = page.getByTestId("new-webhook");
    // Without events the form says so beside the checkboxes and sends nothing.
    await form.getByLabel("Адрес получателя (URL)").fill(url);
    await form.getByRole("button", { name: "Создать получателя" }).click();
    await form.getByText("Выберите хотя бы одно событие.").waitFor();
    await form.getByLabel("На сообщение дан ответ").check();
    await form.getByRole("combobox", { name: "Орган власти" }).selectOption("adm-tyumen");
    await form.getByRole("button", { name: "Создать получателя" }).click();
    const secretBox = page.getByTestId("webhook-secret");
    await secretBox.waitFor();
    await secretBox.getByText("Сохраните секрет сейчас: он больше не будет показан.").waitFor();
    const secret = await secretBox.locator("code").innerText();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    await secretBox.getByRole("button", { name: "Скопировать секрет" }).waitFor();
    const list = page.getByTestId("webhooks");
    await list.getByText(url).waitFor();
    await list.getByText(/Включена с/).waitFor();
    await axe(page, "webhooks (secret shown)");
    await shot(page, "22-webhooks");
    await page.setViewportSize({ width: 390, height: 844 });
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `/admin/webhooks is ${scroll} px wide on a ${width} px screen`);
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.reload();
    await page.getByTestId("webhooks").getByText(url).waitFor();
    assert.equal(await page.getByTestId("webhook-secret").count(), 0, "the secret is gone after a reload");
    assert.equal(await page.getByText(secret).count(), 0);

    // An official answers a message of the endpoint's authority: one signed delivery arrives.
    const message = await routedPothole(await as("resident-anna"), "Разбит тротуар у остановки на улице Республики, пешеходы идут по дороге.");
    await answerMessage(await as("official-sergey"), message.id, ANSWER_TEXT);
    await until("the webhook delivered", () => received.length >= 1);
    assert.equal(received[0].body.type, "message.answered");
    assert.equal(received[0].body.data.message_id, message.id);
    assert.match(received[0].signature, /^v1,/);

    await page.getByTestId("webhooks").getByRole("link", { name: url }).click();
    await page.getByRole("heading", { name: "Получатель вебхуков" }).waitFor();
    const log = page.getByTestId("deliveries");
    await until("the log shows the delivery", async () => {
      await page.getByRole("button", { name: "Обновить журнал" }).click();
      return (await log.locator('[data-status="delivered"]').count()) === 1;
    });
    const entry = log.locator('[data-status="delivered"]');
    await entry.getByText("На сообщение дан ответ — Доставлено").waitFor();
    await entry.getByText("HTTP 204").waitFor();
    await axe(page, "webhook delivery log");
    await shot(page, "23-webhook-deliveries");
    await page.setViewportSize({ width: 390, height: 844 });
    const phone = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(phone.scroll <= phone.width, `the delivery log is ${phone.scroll} px wide on a ${phone.width} px screen`);
    await page.setViewportSize({ width: 1280, height: 900 });

    // Redelivery: the same webhook-id arrives a second time.
    await tabTo(page, 'button[aria-label^="Отправить повторно"]');
    await page.keyboard.press("Enter");
    await page.getByText(/поставлено в очередь на повторную отправку/).waitFor();
    await until("the redelivery arrived", () => received.length >= 2);
    assert.equal(received[1].id, received[0].id);

    // Disabling asks first; then the endpoint says who disabled it and when.
    await page.getByRole("button", { name: "Отключить" }).click();
    await page.getByText("Отключить получателя?").waitFor();
    await axe(page, "webhook disable confirmation");
    await page.getByRole("button", { name: "Да, отключить" }).click();
    await page.getByTestId("endpoint-state").getByText(/^Отключена администратором/).waitFor();
    assert.equal(await page.getByRole("button", { name: /Отправить повторно/ }).count(), 0);
  } finally {
    receiver.close();
  }
});

/** Serves the map tiles from the suite's fixture: scripts/e2e.sh points the host's maps at
 * 127.0.0.1:9, where nothing listens, and every tile request is answered here. */
async function serveTiles(context) {
  const tiles = [];
  await context.route("http://127.0.0.1:9/tiles/**", (route) => {
    tiles.push(route.request().url());
    return route.fulfill({ status: 200, contentType: "image/png", body: PNG });
  });
  return tiles;
}

/** A public message with a place, filed and routed through the API. */
async function publicMessage(resident, text, location) {
  return fileRoutedMessage(resident, { category_id: "dorogi-yamy", municipality_id: "tyumen", text, location, public: true });
}

test("the public map: clusters from the tile fixture, the list beside it and a card, without signing in", async (env) => {
  const tiles = await serveTiles(env.context);
  const filer = await as({ sub: "e2e-map-filer", roles: ["citizen"], municipality: "tyumen" });
  const near = { lat: 57.1523, lon: 65.5412 };
  const first = await publicMessage(filer, "Глубокая яма у пешеходного перехода на улице Республики, 20, колёса проваливаются.", near);
  await publicMessage(filer, "Вторая яма рядом с переходом на улице Республики, напротив аптеки, большая лужа.", { lat: near.lat + 0.0004, lon: near.lon + 0.0004 });
  await answerMessage(await as("official-sergey"), first.id, ANSWER_TEXT);
  const page = await env.context.newPage();
  await page.goto("/map");
  await page.getByRole("heading", { name: "Проблемы региона" }).waitFor();
  const map = page.getByTestId("region-map");
  await map.locator(".leaflet-tile-loaded").first().waitFor();
  assert.ok(tiles.length > 0, "tiles come from the fixture");
  await map.getByText("© участники OpenStreetMap").waitFor();
  // The clusters: a focusable marker that says how many messages it holds.
  const cluster = map.locator(".map-cluster").first();
  await cluster.waitFor();
  assert.match(await cluster.getAttribute("aria-label"), /\d+ сообщени/);
  // The keyboard reaches the clusters; Enter on one zooms in (tiles of a closer zoom follow).
  const zoomOf = (url) => Number(url.split("/tiles/")[1].split("/")[0]);
  const zoomBefore = Math.max(...tiles.map(zoomOf));
  await cluster.focus();
  await page.keyboard.press("Enter");
  await until("tiles of a closer zoom after Enter on a cluster", () => tiles.some((t) => zoomOf(t) > zoomBefore));
  // The list twin holds the same messages, with text scrubbed and no author.
  const list = page.getByTestId("public-list");
  await list.getByText(/Глубокая яма у пешеходного перехода/).waitFor();
  await axe(page, "public map");
  await shot(page, "24-public-map");
  await list.locator("li", { hasText: "Глубокая яма у пешеходного перехода" }).getByRole("button", { name: /Подробнее/ }).click();
  const card = page.getByTestId("public-card");
  await card.getByText(ANSWER_TEXT).waitFor();
  await card.getByText("Администрация города Тюмени", { exact: false }).waitFor();
  // Filters live in the address: a status with nothing in it empties the list.
  await page.getByLabel("Статус").selectOption({ label: "Закрыто" });
  await page.waitForURL(/status=closed/);
  await page.getByText(/Здесь публичных сообщений нет|Сообщения в видимой части карты/).first().waitFor();
  // On a phone the map and the list fit the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/map");
  await page.getByTestId("region-map").locator(".leaflet-tile-loaded").first().waitFor();
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `the map page is ${scroll} px wide on a ${width} px screen`);
  await axe(page, "public map (phone)");
  await shot(page, "25-public-map-phone");
  await page.close();
});

/** The heat map's answer to the page's next request whose query says `overdue=<overdue>`. */
function heatResponse(page, overdue) {
  return page.waitForResponse((r) => r.url().includes("/v1/analytics/heatmap?") && new URL(r.url()).searchParams.get("overdue") === String(overdue) && r.ok());
}

/** The heat map table's rows as [count] in order, and the API's cells ordered as the page orders them. */
async function heatRows(page) {
  const rows = page.getByTestId("heat-row");
  const n = await rows.count();
  const out = [];
  for (let i = 0; i < n; i++) out.push(Number(await rows.nth(i).getByTestId("heat-count").textContent()));
  return out;
}

function heatCounts(answer) {
  return [...answer.cells].sort((a, b) => b.count - a.count || a.lat - b.lat || a.lon - b.lon).map((c) => c.count);
}

test("an admin reads the heat map of every located message, private ones too, all and overdue, with its table twin", async (env) => {
  await serveTiles(env.context);
  // Three located messages 110 m apart at a spot that no other test uses: two private, one public.
  const resident = await as({ sub: "e2e-heat-resident", roles: ["citizen"], municipality: "tyumen" });
  const spot = { lat: 57.1312, lon: 65.4671 };
  for (const [i, isPublic] of [false, false, true].entries()) {
    await fileRoutedMessage(resident, {
      category_id: "zhkh-musor",
      municipality_id: "tyumen",
      text: `Контейнерная площадка переполнена, мусор не вывозят неделю, заявка номер ${i + 1}.`,
      location: { lat: spot.lat + i * 0.001, lon: spot.lon },
      public: isPublic,
    });
  }
  // The API counts all three, public or not; the public map only the public one.
  const admin = await as("admin-dmitry");
  const around = `${spot.lon - 0.01},${spot.lat - 0.01},${spot.lon + 0.01},${spot.lat + 0.01}`;
  const staff = await admin.get(`/v1/analytics/heatmap?bbox=${around}&zoom=14`);
  assert.equal(staff.cells.reduce((n, c) => n + c.count, 0), 3, JSON.stringify(staff));
  const open = await (await fetch(`${BASE_URL}/v1/public/clusters?bbox=${around}&zoom=14`)).json();
  assert.equal(open.clusters.reduce((n, c) => n + c.count, 0), 1, "the public map shows the public one only");
  await assert.rejects(resident.get(`/v1/analytics/heatmap?bbox=${around}&zoom=14`), /: 403 /, "a resident may not read it");

  for (const [width, height, label] of [
    [1280, 800, "desktop"],
    [390, 844, "phone"],
  ]) {
    const page = await signInAs(env, "admin-dmitry");
    await page.setViewportSize({ width, height });
    const all = heatResponse(page, false);
    if (label === "desktop") {
      await page.getByRole("navigation", { name: "Разделы" }).getByRole("link", { name: "Карта обращений" }).click();
    } else {
      await page.goto("/admin/heatmap");
    }
    await page.getByRole("heading", { level: 1, name: "Карта обращений" }).waitFor();
    const map = page.getByTestId("heat-map");
    await map.locator(".leaflet-tile-loaded").first().waitFor();
    // The heat layer draws one rectangle per cell; the table twin lists the same cells, most first.
    const answer = await (await all).json();
    const table = page.getByTestId("heat-table");
    await table.waitFor();
    assert.deepEqual(await heatRows(page), heatCounts(answer), `${label}: the table is the API's cells`);
    assert.equal(await map.locator(".leaflet-overlay-pane path").count(), answer.cells.length, `${label}: a rectangle per cell`);
    const here = answer.cells.find((c) => Math.abs(c.lat - spot.lat) < 0.03 && Math.abs(c.lon - spot.lon) < 0.03);
    assert.ok(here && here.count >= 3, `${label}: the spot's cell counts the private messages: ${JSON.stringify(answer.cells)}`);
    await table.getByRole("rowheader").first().waitFor();
    await page.getByText(`всего сообщений: ${answer.cells.reduce((n, c) => n + c.count, 0)}`, { exact: false }).waitFor();
    await axe(page, `heat map, all (${label})`);
    if (label === "desktop") await shot(page, "26-heat-map");
    // «Просроченные» by the keyboard: the switch keeps its state in the address.
    const overdue = heatResponse(page, true);
    await page.getByRole("radio", { name: "Все" }).focus();
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(/overdue=true/);
    assert.ok(await page.getByRole("radio", { name: "Просроченные" }).isChecked());
    const late = await (await overdue).json();
    if (late.cells.length === 0) {
      await page.getByTestId("heat-empty").waitFor();
      assert.equal(await page.getByTestId("heat-row").count(), 0, `${label}: no overdue rows`);
    } else {
      await page.getByText(`всего просроченных: ${late.cells.reduce((n, c) => n + c.count, 0)}`, { exact: false }).waitFor();
      assert.deepEqual(await heatRows(page), heatCounts(late), `${label}: the overdue table is the API's cells`);
    }
    await allControlsFocusable(page, `heat map (${label})`);
    await axe(page, `heat map, overdue (${label})`);
    const { scroll, width: inner } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= inner, `${label}: the heat map page is ${scroll} px wide on a ${inner} px screen`);
    await page.close();
  }
});

/**
 * A host of its own over a region seeded with a month of activity (`feedback seed`, which runs
 * the escalation on its simulated clock, so some located messages are overdue now); resolves
 * with its URL. The maps' tiles come from the suite's fixture.
 */
async function serveSeeded() {
  const bin = process.env.FEEDBACK_BIN;
  assert.ok(bin, "FEEDBACK_BIN is not set: run scripts/e2e.sh");
  const dir = mkdtempSync(join(tmpdir(), "feedback-e2e-seeded-"));
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const seeded = spawnSync(bin, ["seed", "--messages", "600", "--days", "30", "--data", join(dir, "data")], { cwd: root, encoding: "utf8" });
  assert.equal(seeded.status, 0, `feedback seed failed:\n${seeded.stdout}\n${seeded.stderr}`);
  const child = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--data", join(dir, "data"), "--tiles-url", "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`feedback serve did not start:\n${out}`)), 30000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("error", (e) => reject(new Error(`feedback serve could not start: ${e.message}`)));
    child.on("exit", (code) => reject(new Error(`feedback serve exited with ${code}:\n${out}`)));
  });
  return {
    url,
    stop: () => {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("on a seeded region the heat map's «Просроченные» shows the overdue messages' cells, the table matching the API", async (env) => {
  await serveTiles(env.context);
  const server = await serveSeeded();
  try {
    const issued = await fetch(`${server.url}/v1/dev/tokens`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sub: "admin-dmitry", roles: ["admin"], region: (await config()).region.code }) });
    const { token } = await issued.json();
    const world = await (await fetch(`${server.url}/v1/analytics/heatmap?bbox=-180,-90,180,90&zoom=0&overdue=true`, { headers: { Authorization: `Bearer ${token}` } })).json();
    const overdueTotal = world.cells.reduce((n, c) => n + c.count, 0);
    assert.ok(overdueTotal > 0, `the seeded month leaves located messages overdue: ${JSON.stringify(world)}`);
    const page = await env.context.newPage();
    await page.goto(`${server.url}/login`);
    await page.locator('button[data-sub="admin-dmitry"]').click();
    await page.waitForURL((u) => !u.pathname.startsWith("/login"));
    // The region's box at a zoom that shows it whole, overdue only, from the address.
    const answer = heatResponse(page, true);
    await page.goto(`${server.url}/admin/heatmap?overdue=true`);
    await page.getByTestId("heat-map").locator(".leaflet-tile-loaded").first().waitFor();
    const late = await (await answer).json();
    await page.getByRole("heading", { level: 1, name: "Карта обращений" }).waitFor();
    assert.ok(await page.getByRole("radio", { name: "Просроченные" }).isChecked());
    if (late.cells.length > 0) {
      await page.getByTestId("heat-table").waitFor();
      assert.deepEqual(await heatRows(page), heatCounts(late), "the overdue table is the API's cells");
      await page.getByText(`всего просроченных: ${late.cells.reduce((n, c) => n + c.count, 0)}`, { exact: false }).waitFor();
    } else {
      await page.getByTestId("heat-empty").waitFor();
    }
    // Zoomed out to the whole region every overdue message is in the table.
    const wide = heatResponse(page, true);
    await page.getByTestId("heat-map").focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press("-");
    let all = await (await wide).json();
    while (all.cells.reduce((n, c) => n + c.count, 0) < overdueTotal) {
      const next = heatResponse(page, true);
      await page.keyboard.press("-");
      all = await (await next).json();
    }
    await page.getByText(`всего просроченных: ${overdueTotal}`, { exact: false }).waitFor();
    assert.deepEqual(await heatRows(page), heatCounts(all), "the zoomed-out table is the API's cells");
    // Back to every message: more than the overdue ones.
    const every = heatResponse(page, false);
    await page.getByRole("radio", { name: "Все" }).check();
    const everything = await (await every).json();
    assert.ok(everything.cells.reduce((n, c) => n + c.count, 0) > overdueTotal);
    await page.getByTestId("heat-table").waitFor();
    assert.deepEqual(await heatRows(page), heatCounts(everything));
    await axe(page, "heat map, seeded region");
    await page.close();
  } finally {
    server.stop();
  }
});

test("a resident places the pin on the form's map, sees «Уже сообщили рядом», follows with «Я тоже» and hears the answer", async (env) => {
  await serveTiles(env.context);
  const filer = await as({ sub: "e2e-metoo-filer", roles: ["citizen"], municipality: "tyumen" });
  const spot = { lat: 57.1601, lon: 65.5302 };
  const original = await publicMessage(filer, "Провал асфальта на выезде со двора дома 8 по улице Мельникайте, опасно для машин.", spot);
  const page = await signInAs(env, "resident-ivan");
  await page.goto("/new");
  await page.getByLabel("Поиск категории").fill("яма");
  await page.getByRole("radiogroup", { name: "Найденные категории" }).getByText("Ямы на дорогах").click();
  await page.getByText("Выбрано: Ямы на дорогах").waitFor();
  // The pin: the map opens on demand; Enter on «Поставить метку в центр карты» fills the fields.
  await page.getByRole("button", { name: "Указать место на карте" }).click();
  const map = page.getByTestId("pin-map");
  await map.locator(".leaflet-tile-loaded").first().waitFor();
  await page.getByRole("button", { name: "Поставить метку в центр карты" }).focus();
  await page.keyboard.press("Enter");
  assert.match(await page.getByLabel("Широта").inputValue(), /^\d+\.\d{6}$/);
  // A click on the map moves the pin there.
  const lat0 = await page.getByLabel("Широта").inputValue();
  const box = await map.boundingBox();
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.25);
  assert.notEqual(await page.getByLabel("Широта").inputValue(), lat0);
  await axe(page, "submission form with its map");
  // The place typed in: the original is within the category's radius.
  await page.getByLabel("Широта").fill(String(spot.lat));
  await page.getByLabel("Долгота").fill(String(spot.lon));
  const nearby = page.getByTestId("nearby");
  await nearby.getByText(/Провал асфальта на выезде со двора/).waitFor();
  await shot(page, "27-already-reported");
  await nearby.getByRole("button", { name: "Я тоже" }).click();
  await nearby.getByText("Вы поддержали это сообщение. Мы сообщим вам об ответе.").waitFor();
  // The answer reaches the supporter among their notifications.
  await answerMessage(await as("official-sergey"), original.id, ANSWER_TEXT);
  const ivan = await as("resident-ivan");
  await until("the supporter hears the answer", async () => {
    const { items } = await ivan.get("/v1/me/notifications?limit=100");
    return items.some((n) => n.message_id === original.id && n.kind === "answered");
  });
  await page.goto("/notifications");
  await page.locator(".cards li", { hasText: /дан ответ/ }).first().waitFor();
  await page.close();
});

run(async () => {
  const env = await launch();
  return env;
});
