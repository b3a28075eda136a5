// The web console end to end, in Debian's headless Chromium driven by playwright-core.
//
// Run by tests/it/console.rs, which starts the stack and talks to this script in lines:
// this script prints `log <text>` for progress, one word per step reached (`qr-shown <id>`,
// `working`, `stopped`, `started`, `restarted`, `logged-out`, `deleted`, `code-shown`, `done`) and `fail <message>` on any failure;
// it reads `paired` on stdin once the test has sent the sim's `pair` control.
//
// Environment: WAGW_CONSOLE_URL (the edge), WAGW_CONSOLE_KEY (an API key), WAGW_CONSOLE_CHROMIUM
// (the browser), WAGW_CONSOLE_ARTIFACTS (where screenshots go), WAGW_CONSOLE_SCENARIO: `pair`
// (the default: QR, pairing, stop, delete, pairing code) or `rotation` (the QR refreshes itself
// when its countdown runs out, and the console offers a new one once the pairing gave up; run
// against short sim QR timings: it prints `rotated`, `ended`, `restarted`) or `reconnect` (the
// status stream comes back by itself after the edge restarts: it prints `live`, then `down`
// once the test stopped the edge, then `live` again once it is back, and reads `created <id>`
// to print `seen` when that session shows in the list).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const STEP_TIMEOUT_MS = 15000;
const WHOLE_RUN_MS = 150000;
const PHONE = "6281234567890";
/** Chromium's own flags for a closed network (no background fetches, no QUIC, no sandbox as root). */
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const env = (name) => {
  const value = process.env[name];
  if (!value) fail(`${name} is not set`);
  return value;
};
const say = (line) => process.stdout.write(`${line}\n`);
function fail(message) {
  say(`fail ${message.replace(/\s+/g, " ")}`);
  process.exit(1);
}

// Lines from the test, handed out in order.
const lines = [];
const waiting = [];
createInterface({ input: process.stdin }).on("line", (line) => {
  const next = waiting.shift();
  if (next) next(line.trim());
  else lines.push(line.trim());
});
function nextLine(timeoutMs) {
  if (lines.length) return Promise.resolve(lines.shift());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no line from the test in time")), timeoutMs);
    waiting.push((line) => { clearTimeout(timer); resolve(line); });
  });
}

const baseUrl = env("WAGW_CONSOLE_URL");
const apiKey = env("WAGW_CONSOLE_KEY");
const artifacts = env("WAGW_CONSOLE_ARTIFACTS");
const watchdog = setTimeout(() => fail(`the run took longer than ${WHOLE_RUN_MS} ms`), WHOLE_RUN_MS);

const profile = mkdtempSync(join(tmpdir(), "wagw-console-e2e-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: env("WAGW_CONSOLE_CHROMIUM"),
    headless: true,
    args: FLAGS,
    viewport: { width: 1360, height: 820 },
  });
  const scenario = process.env.WAGW_CONSOLE_SCENARIO || "pair";
  const scenarios = { pair: runPair, rotation: runRotation, reconnect: runReconnect };
  if (!scenarios[scenario]) throw new Error(`unknown scenario ${scenario}`);
  await scenarios[scenario](await context.newPage());
  say("done");
} catch (err) {
  say(`fail ${String(err && err.message ? err.message : err).split("\n")[0]}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  process.stdin.destroy();
}

/** Opens the console, watching for script errors and CSP violations; returns helpers. */
async function openConsole(page) {
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (message) => {
    // A refused request (the wrong key's 401) is reported by Chromium as a console error.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  const response = await page.goto(`${baseUrl}/console`);
  const csp = response.headers()["content-security-policy"] || "";
  if (!csp.includes("default-src 'self'")) throw new Error(`no strict CSP: ${csp}`);
  const byId = (id) => page.getByTestId(id);
  return {
    byId,
    row: (id) => page.locator(`[data-testid="session-row"][data-session-id="${id}"]`),
    qrImage: () => page.locator('[data-testid="qr-image"][src^="blob:"]'),
    expectText: async (locator, pattern, what) => {
      await locator.filter({ hasText: pattern }).first().waitFor().catch(async () => {
        const actual = await locator.first().textContent().catch(() => "(absent)");
        throw new Error(`${what}: expected ${pattern}, saw ${JSON.stringify(actual)}`);
      });
    },
    signIn: async () => {
      await byId("api-key-input").fill(apiKey);
      await byId("signin-button").click();
      await byId("workspace").waitFor();
      await page.locator('[data-testid="stream-status"][data-state="live"]').waitFor();
    },
    checkClean: () => {
      if (problems.length) throw new Error(problems.join("; "));
    },
  };
}

async function runPair(page) {
  const { byId, row, qrImage, expectText, signIn, checkClean } = await openConsole(page);

  // A wrong key is refused with the API's own message.
  await byId("api-key-input").fill("wagw_not_a_real_key");
  await byId("signin-button").click();
  await expectText(byId("signin-error"), /invalid credential/, "the wrong key's error");
  say(`log wrong key refused: ${await byId("signin-error").textContent()}`);
  await page.screenshot({ path: join(artifacts, "console-signin.png") });

  await signIn();
  const stored = await page.evaluate(() => Object.keys(sessionStorage));
  say(`log signed in, stream live; sessionStorage keys: ${stored.join(",")}`);

  // The API's refusals are shown with its message (a blank label passes the form's `required`).
  await byId("create-label").fill("   ");
  await byId("create-button").click();
  await expectText(byId("error-message"), /not blank/, "the API's error for a blank label");
  await byId("error-dismiss").click();
  await byId("error-banner").waitFor({ state: "hidden" });

  // Create a session: the pairing panel opens with the QR and its countdown.
  await byId("create-label").fill("Front desk");
  await byId("create-button").click();
  await qrImage().waitFor();
  await expectText(byId("qr-countdown"), /^Expires in \d+ s$/, "the QR countdown");
  const id = (await byId("pair-session-id").textContent()).trim();
  await expectText(row(id).getByTestId("session-status"), /^scan_qr_code$/, "the new row's status");
  const size = await byId("qr-image").evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  if (size[0] < 100 || size[1] < 100) throw new Error(`the QR image is ${size.join("x")}`);
  say(`qr-shown ${id}`);

  const answer = await nextLine(STEP_TIMEOUT_MS);
  if (answer !== "paired") throw new Error(`expected "paired" from the test, got "${answer}"`);
  await expectText(row(id).getByTestId("session-status"), /^working$/, "the status after pairing");
  await byId("pair-done").waitFor();
  await expectText(row(id).getByTestId("session-number"), new RegExp(`^\\+${PHONE}$`), "the number");
  await page.screenshot({ path: join(artifacts, "console-working.png"), fullPage: true });
  say("working");

  const status = row(id).getByTestId("session-status");
  await row(id).getByTestId("action-stop").click();
  await expectText(status, /^stopped$/, "the status after stop");
  say("stopped");
  await row(id).getByTestId("action-start").click();
  await expectText(status, /^working$/, "the status after start");
  say("started");
  await row(id).getByTestId("action-restart").click();
  await expectText(status, /^working$/, "the status after restart");
  say("restarted");
  // Log out asks first; then the number is detached and the session stops.
  await row(id).getByTestId("action-logout").click();
  await expectText(byId("confirm-title"), /Log out/, "the log-out confirmation");
  await byId("confirm-ok").click();
  await expectText(row(id).getByTestId("session-number"), /^—$/, "the number after log out");
  await expectText(status, /^stopped$/, "the status after log out");
  say("logged-out");

  // Delete asks first; cancelling keeps the row.
  await row(id).getByTestId("action-delete").click();
  await byId("confirm-dialog").waitFor();
  await byId("confirm-cancel").click();
  await row(id).waitFor();
  await row(id).getByTestId("action-delete").click();
  await byId("confirm-ok").click();
  await row(id).waitFor({ state: "detached" });
  say("deleted");

  // The other way to pair: a code for a phone number.
  await byId("create-label").fill("Code pairing");
  await byId("create-button").click();
  await qrImage().waitFor();
  await byId("pair-code-section").locator("summary").click();
  await byId("pair-phone-input").fill(PHONE);
  await byId("pair-code-button").click();
  await expectText(byId("pairing-code"), /^[A-Z0-9]{4}-[A-Z0-9]{4}$/, "the pairing code");
  await expectText(byId("pairing-code-expiry"), /^Valid for \d+:\d\d$/, "the code's expiry");
  await page.screenshot({ path: join(artifacts, "console-pairing-code.png"), fullPage: true });
  say(`code-shown ${(await byId("pairing-code").textContent()).trim()}`);

  // Signing out forgets the key.
  await byId("signout-button").click();
  await byId("signin").waitFor();
  const left = await page.evaluate(() => sessionStorage.length);
  if (left !== 0) throw new Error(`sessionStorage still holds ${left} item(s) after sign-out`);
  checkClean();
}

async function runRotation(page) {
  const { byId, row, qrImage, expectText, signIn, checkClean } = await openConsole(page);
  await signIn();
  await byId("create-label").fill("Rotating");
  await byId("create-button").click();
  await qrImage().waitFor();
  const id = (await byId("pair-session-id").textContent()).trim();
  const first = await qrImage().getAttribute("src");
  await expectText(byId("qr-countdown"), /^Expires in \d+ s$/, "the first countdown");
  // When the countdown runs out the console fetches the next QR by itself.
  await page.locator(`[data-testid="qr-image"][src^="blob:"]:not([src="${first}"])`).waitFor();
  await expectText(byId("qr-countdown"), /^Expires in \d+ s$/, "the next countdown");
  say("rotated");
  // After the last QR the pairing gives up; the console says so and offers a new one.
  await expectText(row(id).getByTestId("session-status"), /^stopped$/, "the status once pairing gave up");
  await expectText(byId("qr-countdown"), /No scan in time/, "the end of the pairing");
  await byId("qr-refresh").waitFor();
  await page.screenshot({ path: join(artifacts, "console-qr-expired.png"), fullPage: true });
  say("ended");
  const last = await qrImage().getAttribute("src");
  await byId("qr-refresh").click();
  await page.locator(`[data-testid="qr-image"][src^="blob:"]:not([src="${last}"])`).waitFor();
  await expectText(row(id).getByTestId("session-status"), /^scan_qr_code$/, "the status of the new pairing");
  say("restarted");
  checkClean();
}

async function runReconnect(page) {
  const { byId, row, signIn, checkClean } = await openConsole(page);
  const streamState = (state) => page.locator(`[data-testid="stream-status"][data-state="${state}"]`);
  await signIn();
  say("live");
  // The test stops the edge: the stream ends, and the console retries with a backoff.
  await streamState("down").waitFor();
  say(`down ${await byId("stream-status").textContent()}`);
  await streamState("live").waitFor({ timeout: 30000 });
  say("live");
  const [word, id] = (await nextLine(STEP_TIMEOUT_MS)).split(" ");
  if (word !== "created") throw new Error(`expected "created <id>" from the test, got "${word}"`);
  await row(id).waitFor();
  say("seen");
  checkClean();
}
