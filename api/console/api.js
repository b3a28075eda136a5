// The console's client of the gateway's API: JSON and image requests with the API key, every
// failure turned into an ApiError carrying the envelope's message, and the live status stream
// (GET /sessions:watch) read with fetch, since EventSource cannot send an Authorization header.

const BASE = "/api/v1";
/** How long one request may take before the console gives up on it. */
const REQUEST_TIMEOUT_MS = 15000;
/** The stream sends a keep-alive every 15 s; this long without a byte means it is dead. */
const STREAM_IDLE_MS = 40000;

/** A failed request: `message` is what the API said (`error.message`), or what went wrong. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The envelope's error of a failed response, or a plain description when it has none. */
async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: a proxy's page, an empty body.
  }
  const error = body && body.error;
  if (error && typeof error.message === "string") {
    return new ApiError(response.status, error.code || "unknown", error.message);
  }
  return new ApiError(response.status, "unknown", `HTTP ${response.status} ${response.statusText}`.trim());
}

/**
 * One request with the key. `body` is sent as JSON; `accept` picks the answer's type.
 * Resolves to the Response (already checked to be a success); rejects with an ApiError.
 */
export async function request(key, method, path, { body, accept = "application/json" } = {}) {
  const headers = { Authorization: `Bearer ${key}`, Accept: accept };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const timedOut = err && (err.name === "TimeoutError" || err.name === "AbortError");
    throw new ApiError(0, "network", timedOut
      ? "the gateway did not answer in time"
      : "could not reach the gateway; check the network and that the edge is running");
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** A request whose answer is JSON (or nothing, for 204). */
export async function json(key, method, path, body) {
  const response = await request(key, method, path, { body });
  if (response.status === 204) return null;
  return response.json();
}

/** Every session of the organization, following the pages (newest first). */
export async function listSessions(key) {
  const sessions = [];
  let token = "";
  for (let page = 0; page < 50; page += 1) {
    const query = new URLSearchParams({ pageSize: "500" });
    if (token) query.set("pageToken", token);
    const answer = await json(key, "GET", `/sessions?${query}`);
    sessions.push(...answer.sessions);
    token = answer.nextPageToken;
    if (!token) break;
  }
  return sessions;
}

/**
 * The current QR of a session as a PNG blob, with its expiry in this browser's clock (the
 * server's `x-qr-expires-at` corrected by the difference between the two clocks).
 */
export async function fetchQr(key, id) {
  const path = `/sessions/${encodeURIComponent(id)}/qr`;
  const response = await request(key, "GET", path, { accept: "image/png" });
  const skew = clockSkew(response);
  const blob = await response.blob();
  let expiresAt = Number(response.headers.get("x-qr-expires-at"));
  if (!Number.isFinite(expiresAt) || expiresAt <= 0) {
    const qr = await json(key, "GET", path);
    expiresAt = Number(qr.expiresAt);
  }
  return { blob, expiresAt: expiresAt - skew };
}

/** Server clock minus this browser's, from the response's `Date` (whole seconds: 0 when close). */
export function clockSkew(response) {
  const date = Date.parse(response.headers.get("date") || "");
  if (!Number.isFinite(date)) return 0;
  const skew = date - Date.now();
  return Math.abs(skew) > 2000 ? skew : 0;
}

/**
 * Opens the status stream and reads it until it ends, the signal aborts, or it goes silent.
 * Calls `onOpen()` once the stream is live (the response head arrived) and `onStatus(change)`
 * for each `status` event. Resolves when the stream ends; rejects with an ApiError when it
 * cannot be opened.
 */
export async function watchStatus(key, { signal, onOpen, onStatus }) {
  const idle = new AbortController();
  const both = AbortSignal.any([signal, idle.signal]);
  let response;
  try {
    response = await fetch(`${BASE}/sessions:watch`, {
      headers: { Authorization: `Bearer ${key}`, Accept: "text/event-stream" },
      cache: "no-store",
      signal: both,
    });
  } catch {
    throw new ApiError(0, "network", "could not reach the gateway");
  }
  if (!response.ok) throw await errorOf(response);
  onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let timer = setTimeout(() => idle.abort(), STREAM_IDLE_MS);
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), STREAM_IDLE_MS);
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, end), onStatus);
        buffer = buffer.slice(end + 2);
      }
    }
  } catch {
    // Aborted (sign-out, silence) or the connection broke: either way the stream is over.
  } finally {
    clearTimeout(timer);
  }
}

/** One SSE block: `event:` and `data:` lines; comments (`:`) are keep-alives. */
function dispatch(block, onStatus) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  if (type !== "status" || data.length === 0) return;
  try {
    onStatus(JSON.parse(data.join("\n")));
  } catch {
    // A malformed event is skipped; the next list refresh corrects any drift.
  }
}
