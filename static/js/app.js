// Entry point on every page: the service worker, when to send the outbox, and the page's own module.
import { onSynced, sendAll } from "./sync.js";
import { init as lockScreen } from "./lock.js";
import { finishSignOut } from "./signout.js";
import { currentKey, sealPage } from "./vault.js";

const PRECACHE_EVERY_MS = 60 * 60 * 1000;
const SEND_EVERY_MS = 20 * 1000;
let sending = null;
let failures = 0;
let retry = null;
const RETRY_MS = 2000;

function announce(state) {
  document.documentElement.dataset.sync = state;  // the last send's outcome, for people and tests alike
  window.dispatchEvent(new CustomEvent("dnh:synced", { detail: { state } }));
}

// Send now unless a send from this tab is already under way (other tabs wait on the Web Lock).
// `retryRefused`: the page was just opened, so what refused a change may have changed (a sign-in, a run
// returned for correction): refused changes are tried again at once instead of after their wait.
function send(retryRefused = false) {
  clearTimeout(retry);
  if (!sending) {
    sending = sendAll({ retryRefused }).then((state) => {
      sending = null;
      announce(state);
      // The connection dropped although the phone says it is online: try again soon, not only on the timer.
      if (state === "offline" && navigator.onLine) retry = setTimeout(send, Math.min(RETRY_MS * 2 ** failures++, 60000));
      if (state !== "offline") failures = 0;
      return state;
    });
  }
  return sending;
}

async function askBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker.ready;
    if (registration.sync) await registration.sync.register("dnh-outbox");
  } catch (error) { /* not offered by this browser: the timer and the online event still send */ }
}

// Save the signed-in pages needed with no signal (home, start form, a blank page per protocol version).
// The header tells the server these are not the person's pages: they neither set the session cookie
// nor take the message meant for the page being opened.
const BACKGROUND = { credentials: "same-origin", redirect: "manual", headers: { "X-Background-Fetch": "1" } };
async function precachePrivatePages() {
  if (!navigator.onLine || !("caches" in window)) return;
  if (!document.documentElement.dataset.user) return;  // signed out: nothing private to save (and no 401)
  const response = await fetch("/offline/precache.json", BACKGROUND);
  if (response.status !== 200) return;  // not signed in
  const { user, pages } = await response.json();
  // Again when someone else signs in, the list changes (a new version published) or an hour has passed.
  const signature = JSON.stringify([user, pages]);
  const last = JSON.parse(localStorage.getItem("dnh-precached") || "{}");
  if (last.signature === signature && Date.now() - last.at < PRECACHE_EVERY_MS) return;
  // Someone else signed in on this phone: the pages saved for the last person (their runs, their name)
  // are not the new person's to open offline.
  if (last.user && last.user !== user) await caches.delete("dnh-pages");
  const cache = await caches.open("dnh-pages");
  // Fetched once the app is unlocked (the PIN chosen or typed): each page is sealed with the key as it arrives,
  // and an answer waiting for the key would hold its connection open until then.
  await currentKey();
  await Promise.all(pages.map(async (url) => {
    const page = await fetch(url, BACKGROUND);
    if (page.status === 200) await cache.put(url, await sealPage(page));  // sealed with the vault's key
  }));
  localStorage.setItem("dnh-precached", JSON.stringify({ signature, user, at: Date.now() }));
}

// A page whose navigation was under way while the worker activated is missed by its clients.claim()
// (Chromium claims only pages already loaded) and would stay uncontrolled until reloaded: ask again.
async function askToBeControlled(registration) {
  const worker = registration.active;
  if (!worker || navigator.serviceWorker.controller) return;
  if (worker.state !== "activated") {  // only an activated worker may claim
    await new Promise((resolve) => worker.addEventListener("statechange", () => {
      if (worker.state === "activated") resolve();
    }));
  }
  if (!navigator.serviceWorker.controller) worker.postMessage("claim");
}

async function start() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module", updateViaCache: "none" })
      .catch(() => {});
    navigator.serviceWorker.ready.then(askToBeControlled).catch(() => {});
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  // A sign-out made with no signal ends the server's session first, before this page is used.
  if (await finishSignOut().catch(() => false)) {
    location.replace("/login");
    return;
  }
  // The lock screen first: what follows reads the phone's data, and waits for the PIN when locked.
  await lockScreen().catch((error) => console.error(error));
  onSynced((message) => announce(message.state));  // a send finished in another tab or the worker
  window.addEventListener("online", () => send());
  window.addEventListener("dnh:send", () => { send(); if (!navigator.onLine) askBackgroundSync(); });
  setInterval(() => { if (navigator.onLine) send(); }, SEND_EVERY_MS);
  const modules = [import("./local.js")];
  if (document.getElementById("run")) modules.push(import("./run.js"));
  await Promise.all(modules.map((m) => m.then((module) => module.init()).catch((error) => console.error(error))));
  // The one error pattern: a page that shows an error summary puts focus on it, so it is read first.
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  document.documentElement.dataset.app = "ready";  // the page's handlers are in place
  send(true);
  precachePrivatePages().catch(() => {});
}

start();
