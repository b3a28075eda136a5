// The confirmation asked before the destructive actions (log out, delete), in a modal dialog.

const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);

const CONFIRM = {
  logout: {
    title: "Log out this session?",
    text: "The device is unlinked from the phone and the number detached. Pairing again needs a new QR or code.",
    ok: "Log out",
  },
  delete: {
    title: "Delete this session?",
    text: "The session and its WhatsApp keys are removed for good; a paired device is unlinked first.",
    ok: "Delete",
  },
};

/** Asks before `action` on the session labelled `label`; resolves to true when confirmed. */
export function confirmAction(action, label) {
  const dialog = $("confirm-dialog");
  const { title, text, ok } = CONFIRM[action];
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = `“${label}”: ${text}`;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

/** Whether `action` asks first. */
export function needsConfirmation(action) {
  return Object.hasOwn(CONFIRM, action);
}
