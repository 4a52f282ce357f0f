// Send the outbox: each run's PUT before its events, events in order, in batches. Works in a page and
// in the service worker (Background Sync). One sender at a time across tabs (Web Locks).
import { addNotices, dropRemovedTexts, keepReceipt, markRefused, markRunRefused, markRunSent, markSent, pending,
  setMeta } from "./outbox.js";
import { Locked, sealPage } from "./vault.js";

const BATCH = 50;
// A server that takes the connection but never answers must not hold the phone: give up, try later.
const TIMEOUT_MS = 8000;
// Refusals are tried again: at once on every page opened (a sign-in, a run returned for correction), and
// otherwise after a wait that doubles with each refusal, from half a minute up to ten minutes.
const RETRY_FIRST_MS = 30 * 1000;
const RETRY_MAX_MS = 10 * 60 * 1000;
// Answers that mean "not now" rather than "no": the run was busy, the server overloaded.
const TRANSIENT = new Set(["busy", "rate_limited"]);
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("dnh-sync") : null;

class Stop extends Error {
  constructor(state) { super(state); this.state = state; }
}

async function call(method, url, body, csrf) {
  let response;
  let data = null;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    response = await fetch(url, {
      method, credentials: "same-origin", redirect: "manual", cache: "no-store", signal: abort.signal,
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(csrf ? { "X-CSRFToken": csrf } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 || response.type === "opaqueredirect") throw new Stop("signed-out");
    if (response.status >= 500) throw new Stop("offline");
    try { data = await response.json(); } catch (error) { data = null; }
  } catch (error) {
    if (error instanceof Stop && !abort.signal.aborted) throw error;
    throw new Stop("offline");  // no network, no answer in time, or the connection dropped: try again later
  } finally {
    clearTimeout(timer);
  }
  const code = data && data.error && data.error.code;
  if (response.status === 429 || TRANSIENT.has(code)) throw new Stop("offline");
  return { status: response.status, data };
}

async function session() {
  // The token may have changed since the page loaded (new session, new secret): always ask first.
  const { status, data } = await call("GET", "/api/v1/session");
  if (status !== 200 || !data) throw new Stop("offline");
  return data;
}

async function freshToken() {
  return (await session()).csrf_token;
}

// On a shared phone, send only what the signed-in person recorded, never under someone else's name.
const theirs = (user) => (entry) => !entry.user || entry.user === user;

function reason(data) {
  return (data && data.error && data.error.message) || "refused by the server";
}

async function withToken(token, method, url, body) {
  let result = await call(method, url, body, token.value);
  if (result.status === 400 && result.data && result.data.error && result.data.error.code === "csrf") {
    token.value = await freshToken();
    result = await call(method, url, body, token.value);
  }
  return result;
}

async function sendRun(token, run) {
  // When the run was started on this phone, perhaps hours before there was a signal, and when the
  // versions it was chosen from were listed (a version retired since is still accepted).
  const body = { protocol_id: run.protocol_id, protocol_version: run.protocol_version, label: run.label,
    mode: run.mode, language: run.language, created_at: run.created_at,
    versions_listed_at: run.versions_listed_at || undefined,
    operation_id: run.operation_id || undefined, operation: run.operation || undefined };
  const { status, data } = await withToken(token, "PUT", `/api/v1/runs/${run.id}`, body);
  if (status === 200 || status === 201) return markRunSent(run.id);
  return markRunRefused(run.id, reason(data));
}

// Answers this phone sent that the server did not use because another phone's answer to the same step was
// made later: the person is told on the run what the step says now.
function replaced(events, known, answer) {
  const notices = [];
  for (const event of events) {
    const now = answer && answer.steps && answer.steps[event.step];  // each step the batch named, as it stands
    if (!event.type.startsWith("step.") || !now || now.event === event.id || known.has(now.event)) continue;
    notices.push({ event: event.id, run: event.run, user: event.user, step: event.step, mine: event.value,
      status: now.status, value: now.value, note: now.note, at: now.at, now: now.event,
      redacted: Boolean(now.redacted) });
  }
  return notices;
}

// The texts a supervisor removed from the run, as the server's answer lists them: [{event, value_is_text}].
function removedTexts(answer) {
  return answer && Array.isArray(answer.removed_texts) ? answer.removed_texts : [];
}

// Pages of the run saved on this phone for use without a signal still hold a removed text: they go, and are
// saved again as the server now draws them when it answers.
async function refreshSavedPages(runId) {
  if (typeof caches === "undefined") return;
  const cache = await caches.open("dnh-pages");
  const base = `/runs/${runId}`;
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path !== base && !path.startsWith(`${base}/`)) continue;
    await cache.delete(request);
    try {
      const page = await fetch(request.url, { credentials: "same-origin", redirect: "manual",
        headers: { "X-Background-Fetch": "1" } });
      if (page.status === 200) await cache.put(request, await sealPage(page));  // sealed, as every saved page
    } catch (error) { /* no answer: the page is saved again the next time it is opened */ }
  }
}

async function forgetRemovedTexts(runId, answer) {
  const removed = removedTexts(answer);
  if (!removed.length) return;
  const fresh = await dropRemovedTexts(runId, removed);
  if (fresh.length) await refreshSavedPages(runId);
}

async function sendEvents(token, runId, events, known, user) {
  for (let start = 0; start < events.length; start += BATCH) {
    const batch = events.slice(start, start + BATCH);
    // text_confirmed: the person confirmed that a text the personal-data guard questioned identifies nobody.
    const payload = batch.map(({ id, type, step, value, note, at, text_confirmed: confirmed }) => (
      { id, type, step, value, note, at, text_confirmed: Boolean(confirmed) }));
    const { status, data } = await withToken(token, "POST", `/api/v1/runs/${runId}/events`, { events: payload });
    if (status === 200 && data) {
      const accepted = new Set(data.accepted || []);
      const notices = replaced(batch.filter((e) => accepted.has(e.id)), known, data);
      if (notices.length) await addNotices(notices);
      await markSent([...(data.accepted || []), ...(data.duplicates || [])].map((e) => (typeof e === "string" ? e : e.id)));
      // The server's signed receipt for the run as it now stands: kept for the person who sent the changes.
      if (data.receipt && data.receipt.run === runId) await keepReceipt(user, data.receipt).catch(() => {});
      await forgetRemovedTexts(runId, data).catch(() => {});
      continue;
    }
    // All or nothing: the batch was refused. Name the event the server blamed (else the first) and stop this run.
    const index = data && data.error && data.error.details && Number.isInteger(data.error.details.index)
      ? data.error.details.index : 0;
    const error = (data && data.error) || {};
    const spans = error.details && Array.isArray(error.details.spans) ? error.details.spans : null;
    await markRefused(batch[Math.min(index, batch.length - 1)].id, reason(data), error.code || null, spans);
    return;
  }
}

// Whether a refused entry is tried again now: always when asked to (a page was opened), else once its
// wait has passed.
const due = (entry, retryRefused) => !entry.error || retryRefused
  || Date.now() - (entry.refusedAt || 0) >= Math.min(RETRY_FIRST_MS * 2 ** ((entry.tries || 1) - 1), RETRY_MAX_MS);

async function sendOnce(retryRefused) {
  const { runs, events } = await pending();
  if (!runs.length && !events.length) return "sent";
  const me = await session();
  const token = { value: me.csrf_token };
  const mine = theirs(me.user);
  for (const run of runs.filter(mine)) if (due(run, retryRefused)) await sendRun(token, run);
  const after = await pending();
  const blocked = new Set(after.runs.map((r) => r.id));  // a run the server does not have yet
  const byRun = new Map();
  for (const event of after.events.filter(mine)) {
    if (blocked.has(event.run)) continue;
    if (!byRun.has(event.run)) byRun.set(event.run, []);
    byRun.get(event.run).push(event);
  }
  const known = new Set(events.map((e) => e.id));  // this phone's own changes never "replace" each other
  for (const [runId, list] of byRun) {
    // Never send past a refused change that is not due again: order matters.
    const stopAt = list.findIndex((e) => !due(e, retryRefused));
    await sendEvents(token, runId, stopAt === -1 ? list : list.slice(0, stopAt), known, me.user);
  }
  const left = await pending();
  const refused = [...left.runs, ...left.events].filter(mine).some((x) => x.error);
  return refused ? "refused" : left.runs.length || left.events.length ? "waiting" : "sent";
}

// Send everything waiting; resolve with "sent", "refused", "waiting" (other people's changes only),
// "offline", "signed-out" or (in the service worker, which cannot ask for the PIN) "locked". Never throws.
// In a page, sending waits until the app is unlocked: the outbox cannot be read without the key. `retryRefused` tries refused changes again at once.
export async function sendAll({ retryRefused = false } = {}) {
  const run = async () => {
    let state;
    try {
      state = await sendOnce(retryRefused);
    } catch (error) {
      state = error instanceof Stop ? error.state : error instanceof Locked ? "locked" : "offline";
    }
    await setMeta("signed-out", state === "signed-out").catch(() => {});
    if (channel) channel.postMessage({ state });
    return state;
  };
  if (self.navigator && navigator.locks) return navigator.locks.request("dnh-sender", run);
  return run();
}

export function onSynced(callback) {
  if (channel) channel.addEventListener("message", (event) => callback(event.data));
}
