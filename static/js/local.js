// Pages that deal with what is kept on this phone: starting a run offline, runs not sent yet,
// storage use, and signing out or wiping a shared phone without losing unsent work by accident.
import { wipe } from "./idb.js";
import { forgetOthersSent, forgetPerson, localRun, localRuns, now, ownedBy, pending, saveRun, uuid } from "./outbox.js";
import { fieldError } from "./run.js";
import { showError } from "./errors.js";
import { sendAll } from "./sync.js";
import { SIGN_OUT_PENDING } from "./signout.js";
import { hasForbiddenCharacters } from "./text.js";

// How long a start waits for the server before opening the run on the phone instead.
const START_WAIT_MS = 8000;

// Who is signed in, as the page says; on a shared phone every list and count here is theirs only.
const signedIn = () => document.documentElement.dataset.user || "";

// What this person has not sent yet.
async function unsentOf(user, runId = null) {
  const { runs, events } = await pending();
  const here = (x) => ownedBy(user)(x) && (!runId || x.id === runId || x.run === runId);
  return runs.filter(here).length + events.filter(here).length;
}

export function blankRunUrl(run) {
  return `/offline/runs/${encodeURIComponent(run.protocol_id)}/${encodeURIComponent(run.protocol_version)}?run=${run.id}`;
}

function showFieldError(field, message) {
  showError(field.form, message, field);
}

// The organisation's label rule, as the server checks it (donoharm/labels.py): the whole label matches the
// pattern the page was rendered with. The server accepts only patterns Python and a browser read alike (with
// the u flag); should this browser still fail to read one, the server's check alone decides.
export function labelAllowed(pattern, label) {
  if (!pattern) return true;
  let rule;
  try {
    rule = new RegExp(`^(?:${pattern})$`, "u");
  } catch (error) {
    return true;
  }
  return rule.test(label);
}

// Start a run on the phone: a client-made id, the run saved to the outbox before any of its events.
function startForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const mode = data.get("mode") || "live";
    const joining = data.get("operation") === "join";
    const chosen = joining ? form.elements.operation_id.selectedOptions[0] : null;
    if (joining && mode !== "live") return showFieldError(form.querySelector("input[name=operation]"), form.dataset.operationPractice);
    if (joining && !(chosen && chosen.value)) return showFieldError(form.elements.operation_id, form.dataset.operationRequired);
    // The list was made when the page was saved on this phone: an operation of an earlier day cannot be joined.
    if (joining && chosen.dataset.day !== now().slice(0, 10)) return showFieldError(form.elements.operation_id, form.dataset.operationOtherDay);
    // Joining, a blank label takes the operation's label (as the server's form does).
    const label = String(data.get("label") || "").trim() || (chosen ? chosen.dataset.label : "");
    const field = form.elements.label;
    if (!label) return showFieldError(field, form.dataset.labelRequired);
    if (label.length > 80) return showFieldError(field, form.dataset.labelTooLong);
    if (hasForbiddenCharacters(label)) return showFieldError(field, form.dataset.textInvalid);
    if (!labelAllowed(form.dataset.labelPattern, label)) return showFieldError(field, form.dataset.labelHint);
    const [protocolId, version] = String(data.get("protocol") || "").split("@");
    if (!protocolId || !version) return showFieldError(form.elements.protocol, form.dataset.protocolRequired);
    const run = { id: uuid(), protocol_id: protocolId, protocol_version: version, label,
      mode, language: data.get("language") || null, created_at: now(),
      versions_listed_at: form.dataset.listedAt || null, user: form.dataset.user };
    // A live run joins an operation started today or opens a new one, its id made here so that sending the
    // run again (no signal, a retry) opens the same operation once.
    if (mode === "live" && joining) run.operation_id = chosen.value;
    else if (mode === "live") run.operation = { id: uuid(), label };
    const button = event.submitter || form.querySelector("button[type=submit]");
    button.disabled = true;  // one tap, one run
    try {
      await saveRun(run);
    } catch (error) {  // no storage on this phone (a private window, say): the server's own form still works
      form.submit();
      return;
    }
    // With a signal the run is created on the server at once and opens at its own address; without one
    // (or a server too slow to answer) it opens on the blank page saved on this phone and is sent later.
    if (navigator.onLine && await sentInTime(run.id)) {
      window.location.assign(`/runs/${run.id}`);
      return;
    }
    window.dispatchEvent(new Event("dnh:send"));
    window.location.assign(blankRunUrl(run));
  });
}

async function sentInTime(runId) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, START_WAIT_MS); });
  await Promise.race([sendAll(), late]);
  clearTimeout(timer);
  const run = await localRun(runId);
  return Boolean(run && run.sent);
}

// Home: runs that exist only on this phone so far, marked "not sent yet".
async function localList(section) {
  const runs = (await localRuns()).filter((r) => !r.sent && ownedBy(signedIn())(r));
  const list = section.querySelector("ul");
  list.replaceChildren(...runs.map((run) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = blankRunUrl(run);
    link.textContent = run.label;
    const mark = document.createElement("strong");
    mark.className = "tag tag-todo";
    mark.textContent = section.dataset.notSent;
    item.append(link, " ", mark);
    return item;
  }));
  section.hidden = runs.length === 0;
}

// A size as people say it: "0.2 MB", "35 MB", "10 GB" (two significant figures at most, in the page's language).
export function size(bytes, locale = document.documentElement.lang || undefined) {
  const gb = bytes / 1024 ** 3;
  const [value, unit] = gb >= 1 ? [gb, "GB"] : [bytes / 1024 ** 2, "MB"];
  const digits = value >= 10 ? 0 : 1;
  const shown = new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(Number(value.toFixed(digits)));
  return `${shown} ${unit}`;
}

async function storageUse(element) {
  if (!navigator.storage || !navigator.storage.estimate) return;
  const { usage = 0, quota = 0 } = await navigator.storage.estimate();
  const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false;
  element.textContent = element.dataset.template.replace("{used}", size(usage)).replace("{quota}", size(quota))
    + (persisted ? ` ${element.dataset.persisted}` : "");
  element.hidden = false;
}

// Forget what this person leaves on the phone: the saved pages always, and what they saved that the server
// has; with `discard`, also what it does not have. With `wipe`, the app's data and shell go too, unless
// another person's unsent changes are still on the phone: those stay, for that person to send.
// Resolve with whether the phone was wiped.
export async function forgetLocal(user, { discard = false, wipe: wiping = false } = {}) {
  localStorage.removeItem("dnh-precached");
  localStorage.removeItem("dnh-last-run");
  const others = await forgetPerson(user, { unsent: discard || wiping });
  const everything = wiping && others === 0;
  if ("caches" in window) {
    for (const name of await caches.keys()) {
      if (everything || name === "dnh-pages") await caches.delete(name);
    }
  }
  if (everything) {
    await wipe();
    if (navigator.serviceWorker) {
      for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister();
    }
  }
  return everything;
}

// Sign-out: refuse while changes are unsent unless the person ticks "discard"; then clear private copies.
function signOut(form) {
  const warning = document.getElementById("unsent-warning");
  const discard = document.getElementById("discard-unsent");
  let leaving = false;
  form.addEventListener("submit", async (event) => {
    if (leaving) return;
    event.preventDefault();
    const user = signedIn();
    const unsent = await unsentOf(user);  // this person's only: someone else's wait for them
    const wiping = event.submitter && event.submitter.name === "wipe";
    if (unsent && !discard.checked) {
      warning.querySelector("[data-role=message]").textContent = (unsent === 1 ? warning.dataset.templateOne : warning.dataset.template).replace("{n}", unsent);
      warning.hidden = false;
      warning.focus();
      return;
    }
    const wiped = await forgetLocal(user, { discard: unsent > 0, wipe: wiping });
    if (!navigator.onLine) {  // no signal: sign out on the phone now, on the server when the signal returns
      await signOutOffline(user, wiped);
      return;
    }
    leaving = true;
    // Clear-Site-Data would also take another person's unsent changes: ask the server for it only when
    // nothing of anyone else's is left on the phone.
    if (event.submitter && event.submitter.name && (event.submitter.name !== "wipe" || wiped)) {
      const hidden = document.createElement("input");
      Object.assign(hidden, { type: "hidden", name: event.submitter.name, value: event.submitter.value });
      form.append(hidden);
    }
    form.submit();
  });
}

// Signed out with no signal: the phone forgets the key (locked) and the person's saved pages at once; app.js
// ends the server's session the next time a page opens with a signal (signout.js), before anything else.

async function signOutOffline(user, wiped) {
  if (!wiped) localStorage.setItem(SIGN_OUT_PENDING, user);  // a wiped phone keeps nothing, not even this
  const done = document.getElementById("signed-out-offline");
  document.getElementById("logout-form").hidden = true;
  done.hidden = false;
  done.focus();
  const vault = await import("./vault.js");
  if (!wiped) await vault.lock().catch(() => {});
}


// Submitting on the server's check page: first let this run's changes saved on the phone go, else wait.
function submitAfterSending(form) {
  let ready = false;
  form.addEventListener("submit", async (event) => {
    if (ready) return;
    event.preventDefault();
    const runId = form.dataset.runId;
    const user = signedIn();
    if (await unsentOf(user, runId)) await sendAll();
    if (await unsentOf(user, runId)) {
      fieldError(form, form.dataset.unsent);
      return;
    }
    ready = true;
    form.requestSubmit(event.submitter);
  });
}

// The "No connection" page: back to the run this person opened last (run.js remembers it).
function lastRun(link) {
  let last = null;
  try { last = JSON.parse(localStorage.getItem("dnh-last-run") || "null"); } catch (error) { last = null; }
  const user = signedIn();
  if (!last || !/^\/(offline\/)?runs\//.test(String(last.url)) || (user && last.user !== user)) return;
  link.href = last.url;
  link.hidden = false;
}

export async function init() {
  const back = document.getElementById("last-run");
  if (back) lastRun(back);
  if (signedIn()) forgetOthersSent(signedIn()).catch(() => {});  // on the server already: not the next person's
  const check = document.getElementById("submit-run");
  if (check && check.dataset.runId) submitAfterSending(check);
  const start = document.getElementById("start-run");
  if (start) startForm(start);
  const section = document.getElementById("local-runs");
  if (section) {
    await localList(section);
    window.addEventListener("dnh:synced", () => localList(section));
  }
  const storage = document.getElementById("storage-use");
  if (storage) storageUse(storage).catch(() => {});
  const logout = document.getElementById("logout-form");
  if (logout) signOut(logout);
}
