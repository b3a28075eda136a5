// Keeps the live status stream (GET /sessions:watch) open: when it drops, it is opened again
// after a growing, jittered delay, and each reopening is reported so the list is read afresh.

import { ApiError, watchStatus } from "/console/api.js";

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

/**
 * Watches until `signal` aborts. `onState(state, text)` reports `connecting`, `live` or `down`;
 * `onOpen()` runs each time the stream is live again; `onStatus(change)` for each change;
 * `onRefused(err)` when the key is refused (401), which ends the watching.
 */
export async function keepWatching(key, { signal, onState, onOpen, onStatus, onRefused }) {
  let delay = FIRST_DELAY_MS;
  while (!signal.aborted) {
    onState("connecting", "connecting");
    try {
      await watchStatus(key, {
        signal,
        onOpen: () => {
          delay = FIRST_DELAY_MS;
          onState("live", "live");
          onOpen();
        },
        onStatus,
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        if (!signal.aborted) onRefused(err);
        return;
      }
      // Anything else (the edge restarting, the network) is retried below.
    }
    if (signal.aborted) return;
    const wait = delay + Math.random() * delay * 0.3;
    onState("down", `reconnecting in ${Math.round(wait / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, wait));
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}
