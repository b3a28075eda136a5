// The pairing panel: the session's QR as an image with a countdown, fetched again when it
// expires while the pairing goes on, and the alternative pairing code for a phone number.

import { fetchQr, json } from "/console/api.js";

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
/** After a QR expires, wait this long before looking again, so the worker has rotated it. */
const ROTATE_GRACE_MS = 700;

/** Shows a status as a badge (its text is the API's status, e.g. `working`). */
export function setStatus(element, status) {
  element.textContent = status;
  element.dataset.status = status;
}

function seconds(ms) {
  return Math.max(0, Math.ceil(ms / 1000));
}

function minutesSeconds(ms) {
  const total = seconds(ms);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export class PairPanel {
  /**
   * `key()` is the API key, `session(id)` the latest known row, `onError(err)` shows a failure.
   */
  constructor({ key, session, onError }) {
    this.key = key;
    this.session = session;
    this.onError = onError;
    this.id = null;
    this.imageUrl = null;
    this.expiresAt = 0;
    this.codeExpiresAt = 0;
    this.loading = false;
    this.ended = false;
    this.done = false;
    setInterval(() => this.tick(), 250);
    $("pair-close").addEventListener("click", () => this.close());
    $("qr-refresh").addEventListener("click", () => this.loadQr());
    $("pair-code-form").addEventListener("submit", (event) => this.requestCode(event));
  }

  open(id) {
    this.close();
    this.id = id;
    const session = this.session(id);
    $("pair-label").textContent = session ? session.label : "";
    $("pair-session-id").textContent = id;
    $("pair-panel").hidden = false;
    $("pair-code-section").open = false;
    $("pairing-code-box").hidden = true;
    this.refresh();
    if (!this.done) this.loadQr();
  }

  close() {
    this.id = null;
    this.expiresAt = 0;
    this.codeExpiresAt = 0;
    this.ended = false;
    this.done = false;
    this.showImage(null);
    $("qr-countdown").textContent = "";
    $("qr-refresh").hidden = true;
    $("pair-done").hidden = true;
    $("qr-view").hidden = false;
    $("pair-panel").hidden = true;
  }

  /** Follows the session's row: its status, and whether it is paired and working now. */
  refresh() {
    if (!this.id) return;
    const session = this.session(this.id);
    if (!session) {
      this.close();
      return;
    }
    setStatus($("pair-status"), session.status);
    if (session.status === "working" && session.phoneNumber) this.showDone(session.phoneNumber);
  }

  /** A live status change: the pairing may have succeeded or ended. */
  statusChanged(change) {
    if (change.sessionId !== this.id) return;
    setStatus($("pair-status"), change.status);
    if (change.status === "working") {
      this.showDone(this.session(this.id)?.phoneNumber);
    } else if (["stopped", "failed"].includes(change.status)
      && ["scan_qr_code", "starting"].includes(change.previousStatus)) {
      // Only a pairing that was under way ends here; a late `stopped` of the session's
      // creation (previousStatus null) is not the end of the pairing just begun.
      this.end(change.statusReason);
    }
  }

  showDone(phoneNumber) {
    this.done = true;
    this.expiresAt = 0;
    this.showImage(null);
    $("qr-view").hidden = true;
    $("pair-code-section").hidden = true;
    $("pair-number").textContent = phoneNumber ? ` with +${phoneNumber}` : "";
    $("pair-done").hidden = false;
  }

  /** The pairing stopped (every QR expired, or it failed): offer to begin again. */
  end(reason) {
    if (this.done) return;
    this.ended = true;
    this.expiresAt = 0;
    const why = reason === "qr_expired" ? "No scan in time" : `Pairing ended${reason ? ` (${reason})` : ""}`;
    $("qr-countdown").textContent = `${why}: the code is no longer valid.`;
    $("qr-image").classList.add("expired");
    $("qr-refresh").hidden = false;
  }

  showImage(blob) {
    if (this.imageUrl) URL.revokeObjectURL(this.imageUrl);
    this.imageUrl = blob ? URL.createObjectURL(blob) : null;
    const image = $("qr-image");
    image.classList.remove("expired");
    if (this.imageUrl) image.src = this.imageUrl;
    else image.removeAttribute("src");
    image.hidden = !this.imageUrl;
    $("qr-placeholder").hidden = Boolean(this.imageUrl);
    $("pair-code-section").hidden = false;
  }

  async loadQr() {
    if (this.loading || !this.id) return;
    const id = this.id;
    this.loading = true;
    $("qr-refresh").hidden = true;
    $("qr-placeholder").textContent = "Loading the QR…";
    try {
      const { blob, expiresAt } = await fetchQr(this.key(), id);
      if (this.id !== id || this.done) return;
      this.ended = false;
      this.expiresAt = expiresAt;
      this.showImage(blob);
      this.tick();
    } catch (err) {
      if (this.id !== id) return;
      this.onError(err);
      this.showImage(null);
      $("qr-placeholder").textContent = `No QR: ${err.message}`;
      $("qr-refresh").hidden = false;
    } finally {
      this.loading = false;
    }
  }

  /** The QR ran out: fetch the next one while the pairing goes on, else say it ended. */
  async rotate() {
    const id = this.id;
    this.expiresAt = 0;
    $("qr-countdown").textContent = "Refreshing the QR…";
    await new Promise((resolve) => setTimeout(resolve, ROTATE_GRACE_MS));
    if (this.id !== id || this.done) return;
    try {
      const row = await json(this.key(), "GET", `/sessions/${encodeURIComponent(id)}`);
      if (this.id !== id || this.done) return;
      if (row.status === "scan_qr_code") this.loadQr();
      else if (row.status === "working") this.showDone(row.phoneNumber);
      else this.end(row.statusReason);
    } catch (err) {
      this.onError(err);
      this.end(null);
    }
  }

  tick() {
    if (!this.id) return;
    const now = Date.now();
    if (this.expiresAt && !this.ended && !this.done) {
      const left = this.expiresAt - now;
      if (left > 0) $("qr-countdown").textContent = `Expires in ${seconds(left)} s`;
      else this.rotate();
    }
    if (this.codeExpiresAt) {
      const left = this.codeExpiresAt - now;
      $("pairing-code-expiry").textContent = left > 0
        ? `Valid for ${minutesSeconds(left)}`
        : "This code has expired; ask for a new one.";
      if (left <= 0) this.codeExpiresAt = 0;
    }
  }

  async requestCode(event) {
    event.preventDefault();
    const id = this.id;
    const phoneNumber = event.target.phone.value.trim();
    const button = $("pair-code-button");
    button.disabled = true;
    try {
      const path = `/sessions/${encodeURIComponent(id)}/pairing-code`;
      const answer = await json(this.key(), "POST", path, { phoneNumber });
      if (this.id !== id) return;
      $("pairing-code").textContent = answer.code;
      this.codeExpiresAt = Number(answer.expiresAt);
      $("pairing-code-box").hidden = false;
      this.tick();
    } catch (err) {
      this.onError(err);
    } finally {
      button.disabled = false;
    }
  }
}
