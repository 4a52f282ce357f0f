// The lock screen on every page: a PIN chosen at the first sign-in on the phone, asked again after the idle
// time (DONOHARM_PHONE_LOCK_MINUTES, given by the page), after Hide and in every open page once one locks.
// Hide (the header's control or the Escape key) puts a neutral page in place of this one and locks.
import { MAX_TRIES, create, exists, isUnlocked, lock, onLock, resume, touch, unlock, wipeDevice } from "./vault.js";
import { clearErrors, showError } from "./errors.js";

const html = document.documentElement;
// Signing in: whoever is here is signed out, so the app is locked. Hidden: nothing to unlock there.
const SIGNED_OUT_PAGES = ["/login", "/login/code", "/setup", "/hidden"];
const HIDE_WAIT_MS = 400;

let overlay;
let lastActivity = Date.now();
let lockSeconds = 300;

const setState = (state) => { html.dataset.vault = state; };

function cover(mode) {
  overlay.hidden = false;
  overlay.classList.add("vault-cover");
  overlay.classList.remove("vault-pending");  // the script has looked: say what it found at once
  const title = overlay.querySelector("[data-role=title]");
  title.textContent = title.dataset[mode];
  for (const id of ["vault-new", "vault-unlock", "vault-wiped"]) document.getElementById(id).hidden = true;
  const shown = document.getElementById({ new: "vault-new", locked: "vault-unlock", wiped: "vault-wiped" }[mode]);
  shown.hidden = false;
  // What is behind the lock screen is neither read out nor reached with the keyboard.
  for (const part of document.body.children) if (part !== overlay) part.inert = true;
  setState(mode);
  const input = shown.querySelector("input");
  if (input) { input.value = ""; input.focus(); }
}

function uncover() {
  overlay.classList.remove("vault-cover", "vault-pending");
  overlay.hidden = true;
  for (const part of document.body.children) part.inert = false;
  setState("open");
  lastActivity = Date.now();
}

function wiped(reason) {
  cover("wiped");
  const message = overlay.querySelector("[data-role=wiped-message]");
  message.textContent = message.dataset[reason];
}

function busy(form, on) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = on;
  if (on) { button.dataset.label = button.textContent; button.textContent = overlay.dataset.working; }
  else if (button.dataset.label) button.textContent = button.dataset.label;
}

function newPinForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const pin = form.elements.pin.value;
    if (!/^[0-9]{6,}$/.test(pin)) return showError(form, overlay.dataset.tooShort, form.elements.pin);
    if (form.elements.confirm.value !== pin) return showError(form, overlay.dataset.mismatch, form.elements.confirm);
    busy(form, true);
    try {
      await create(pin);
    } finally {
      busy(form, false);
    }
    uncover();
  });
}

function unlockForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    busy(form, true);
    let result;
    try {
      result = await unlock(form.elements.pin.value);
    } finally {
      busy(form, false);
    }
    if (result.wiped) return wiped("tries");
    if (!result.ok) {
      const words = result.left === 1 ? overlay.dataset.wrongOne : overlay.dataset.wrong.replace("{n}", result.left);
      form.elements.pin.value = "";
      return showError(form, words, form.elements.pin);
    }
    // The PIN page stands in for a saved page the service worker could not open while locked: open it now.
    if (html.dataset.page === "unlock") return window.location.reload();
    uncover();
  });
  form.querySelector("[data-role=wipe]").addEventListener("click", async () => {
    await wipeDevice();
    wiped("asked");
  });
}

// Hide: the screen goes at once, the key is forgotten, and a neutral page replaces this one in the history.
export function hide() {
  document.body.replaceChildren();
  document.title = "";
  setState("hidden");
  const late = new Promise((resolve) => { setTimeout(resolve, HIDE_WAIT_MS); });
  Promise.race([lock(), late]).finally(() => window.location.replace("/hidden"));
}

function watchIdle() {
  const active = () => { lastActivity = Date.now(); touch(); };
  for (const type of ["pointerdown", "keydown", "input", "scroll", "touchstart"]) {
    window.addEventListener(type, active, { passive: true, capture: true });
  }
  setInterval(() => {
    if (isUnlocked() && Date.now() - lastActivity > lockSeconds * 1000) {
      lock().then(() => cover("locked"));
    }
  }, 1000);
}

function hideControls() {
  document.querySelectorAll("[data-hide]").forEach((control) => control.addEventListener("click", (event) => {
    event.preventDefault();
    hide();
  }));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.isComposing) hide();
  });
}

// Resolve once the page may go on: unlocked, or a page that needs no key. Pages that read the phone's data
// simply wait for the key (vault.js) while the lock screen is up.
export async function init() {
  overlay = document.getElementById("vault");
  lockSeconds = Number(html.dataset.lockSeconds) || lockSeconds;
  hideControls();
  if (!overlay) return;
  if (SIGNED_OUT_PAGES.includes(window.location.pathname)) {
    overlay.hidden = true;
    await lock({ tell: false }).catch(() => {});
    setState("signed-out");
    return;
  }
  newPinForm(document.getElementById("vault-new"));
  unlockForm(document.getElementById("vault-unlock"));
  onLock(() => cover("locked"));
  // A page brought back by the Back button is shown as it was left: ask again if the app was locked since.
  window.addEventListener("pageshow", async (event) => {
    if (event.persisted && !(await resume(lockSeconds))) cover((await exists()) ? "locked" : "new");
  });
  watchIdle();
  const private_ = html.dataset.user || html.dataset.page === "unlock" || window.location.pathname.startsWith("/offline");
  if (await resume(lockSeconds)) return uncover();
  if (await exists()) {
    if (private_) return cover("locked");
    overlay.hidden = true;  // a public page: nothing of the phone's to show, nothing to unlock for
    return setState("locked");
  }
  if (html.dataset.user) return cover("new");
  overlay.hidden = true;
  setState("none");
}

export { MAX_TRIES };
