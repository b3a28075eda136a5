// The console: sign-in, the live list of sessions, creating one and the lifecycle buttons.
// Pairing (QR and code) is in pair.js, keeping the status stream open in live.js, talking to
// the API in api.js. The API key lives in sessionStorage only: it is gone when the tab
// closes and is never written to the page or the browser's console.

import { ApiError, json, listSessions } from "/console/api.js";
import { confirmAction, needsConfirmation } from "/console/confirm.js";
import { keepWatching } from "/console/live.js";
import { PairPanel, setStatus } from "/console/pair.js";

const KEY_STORAGE = "wagw.console.apiKey";
const $ = (testid, root = document) => root.querySelector(`[data-testid="${testid}"]`);

const state = {
  key: null,
  sessions: new Map(),
  /** Aborts the status stream on sign-out. */
  stream: null,
  refetches: new Map(),
};

const pair = new PairPanel({
  key: () => state.key,
  session: (id) => state.sessions.get(id),
  onError: showError,
});

// ---- errors -------------------------------------------------------------------------------

function showError(err) {
  const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  $("error-message").textContent = message;
  $("error-banner").hidden = false;
}

function clearError() {
  $("error-banner").hidden = true;
}

// ---- sign-in ------------------------------------------------------------------------------

async function signIn(key) {
  // One cheap authenticated read proves the key works and can read sessions.
  await json(key, "GET", "/sessions?pageSize=1");
  state.key = key;
  sessionStorage.setItem(KEY_STORAGE, key);
  $("signin").hidden = true;
  $("workspace").hidden = false;
  document.querySelector("[data-signed-in]").hidden = false;
  loadGateways();
  startStream();
}

function signOut(message) {
  state.stream?.abort();
  state.stream = null;
  state.key = null;
  sessionStorage.removeItem(KEY_STORAGE);
  pair.close();
  state.sessions.clear();
  renderSessions();
  $("workspace").hidden = true;
  document.querySelector("[data-signed-in]").hidden = true;
  $("signin").hidden = false;
  const error = $("signin-error");
  error.textContent = message || "";
  error.hidden = !message;
  clearError();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("api-key-input");
  const key = input.value.trim();
  const button = $("signin-button");
  button.disabled = true;
  $("signin-error").hidden = true;
  try {
    await signIn(key);
    input.value = "";
  } catch (err) {
    $("signin-error").textContent = err.message;
    $("signin-error").hidden = false;
  } finally {
    button.disabled = false;
  }
});

$("signout-button").addEventListener("click", () => signOut());
$("error-dismiss").addEventListener("click", clearError);

// ---- the list -----------------------------------------------------------------------------

async function reloadSessions() {
  try {
    const sessions = await listSessions(state.key);
    state.sessions = new Map(sessions.map((s) => [s.id, s]));
    renderSessions();
  } catch (err) {
    handleFailure(err);
  }
}

/** Reads one row again (its number, reason); a 404 means it was deleted. */
function refetchSoon(id) {
  clearTimeout(state.refetches.get(id));
  state.refetches.set(id, setTimeout(async () => {
    state.refetches.delete(id);
    try {
      const row = await json(state.key, "GET", `/sessions/${encodeURIComponent(id)}`);
      state.sessions.set(id, row);
    } catch (err) {
      if (err.status !== 404) return;
      state.sessions.delete(id);
    }
    renderSessions();
  }, 200));
}

function renderSessions() {
  const body = $("sessions-body");
  const rows = [...state.sessions.values()].sort((a, b) => b.createdAt - a.createdAt);
  const existing = new Map([...body.children].map((tr) => [tr.dataset.sessionId, tr]));
  for (const session of rows) {
    const tr = existing.get(session.id) || newRow(session.id);
    existing.delete(session.id);
    fillRow(tr, session);
    body.appendChild(tr);
  }
  for (const stale of existing.values()) stale.remove();
  $("session-count").textContent = rows.length ? `(${rows.length})` : "";
  $("sessions-empty").hidden = rows.length > 0;
  pair.refresh();
}

function newRow(id) {
  const tr = document.getElementById("session-row").content.firstElementChild.cloneNode(true);
  tr.dataset.sessionId = id;
  return tr;
}

function fillRow(tr, session) {
  $("session-label", tr).textContent = session.label;
  setStatus($("session-status", tr), session.status);
  $("session-reason", tr).textContent = session.statusReason || "";
  $("session-number", tr).textContent = session.phoneNumber ? `+${session.phoneNumber}` : "—";
  $("session-gateway", tr).textContent = session.gatewayId;
  $("session-id", tr).textContent = session.id;
  $("session-id", tr).title = session.id;
  // Only the actions that make sense now: the API would refuse the others (409).
  const paired = Boolean(session.phoneNumber);
  const offered = {
    pair: !paired,
    start: paired && ["stopped", "failed"].includes(session.status),
    stop: session.status !== "stopped",
    restart: paired,
    logout: paired,
    delete: true,
  };
  for (const button of tr.querySelectorAll("button[data-action]")) {
    button.hidden = !offered[button.dataset.action];
  }
  tr.classList.toggle("selected", pair.id === session.id);
}

// ---- actions ------------------------------------------------------------------------------

async function runAction(id, action, tr) {
  const session = state.sessions.get(id);
  if (!session) return;
  if (action === "pair") {
    pair.open(id);
    renderSessions();
    return;
  }
  if (needsConfirmation(action) && !(await confirmAction(action, session.label))) return;
  const buttons = tr.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const path = `/sessions/${encodeURIComponent(id)}`;
    if (action === "delete") {
      await json(state.key, "DELETE", path);
      state.sessions.delete(id);
      if (pair.id === id) pair.close();
    } else {
      state.sessions.set(id, await json(state.key, "POST", `${path}:${action}`));
    }
    clearError();
  } catch (err) {
    handleFailure(err);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    renderSessions();
  }
}

$("sessions-body").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const tr = button.closest("tr");
  runAction(tr.dataset.sessionId, button.dataset.action, tr);
});

$("refresh-button").addEventListener("click", reloadSessions);

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { label: form.label.value.trim() };
  if (form.gateway.value) body.gatewayId = form.gateway.value;
  const button = $("create-button");
  button.disabled = true;
  try {
    const row = await json(state.key, "POST", "/sessions", body);
    state.sessions.set(row.id, row);
    form.label.value = "";
    clearError();
    pair.open(row.id);
    renderSessions();
  } catch (err) {
    handleFailure(err);
  } finally {
    button.disabled = false;
  }
});

async function loadGateways() {
  const select = $("create-gateway");
  try {
    const { gateways } = await json(state.key, "GET", "/gateways");
    select.replaceChildren(...gateways.map((gw, i) => {
      const option = document.createElement("option");
      option.value = i === 0 ? "" : gw.id;
      option.textContent = i === 0 ? `${gw.id} (default)` : gw.id;
      return option;
    }));
  } catch {
    // Without the list the edge's default gateway is used; nothing to show.
  }
}

/** A 401 means the key stopped working (revoked, expired): back to sign-in, saying so. */
function handleFailure(err) {
  if (err instanceof ApiError && err.status === 401) {
    signOut(`Signed out: ${err.message}`);
  } else {
    showError(err);
  }
}

// ---- the live stream ----------------------------------------------------------------------

function setStream(stateName, text) {
  const badge = $("stream-status");
  badge.dataset.state = stateName;
  badge.textContent = text;
}

function startStream() {
  const controller = new AbortController();
  state.stream = controller;
  keepWatching(state.key, {
    signal: controller.signal,
    onState: setStream,
    // The stream is live now: a full list cannot miss a change made meanwhile.
    onOpen: reloadSessions,
    onStatus: applyChange,
    onRefused: handleFailure,
  });
}

function applyChange(change) {
  const session = state.sessions.get(change.sessionId);
  if (session) {
    session.status = change.status;
    session.statusReason = change.statusReason;
  }
  renderSessions();
  pair.statusChanged(change);
  refetchSoon(change.sessionId);
}

// ---- start --------------------------------------------------------------------------------

const saved = sessionStorage.getItem(KEY_STORAGE);
if (saved) {
  signIn(saved).catch((err) => signOut(err.status === 401 ? `Signed out: ${err.message}` : err.message));
} else {
  $("signin").hidden = false;
}
