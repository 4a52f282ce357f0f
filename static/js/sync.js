// Send the outbox: each run's PUT before its events, events in order, in batches. Works in a page and
// in the service worker (Background Sync). One sender at a time across tabs (Web Locks).
import { markRefused, markRunRefused, markRunSent, markSent, pending, setMeta } from "./outbox.js";

const BATCH = 50;
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("dnh-sync") : null;

class Stop extends Error {
  constructor(state) { super(state); this.state = state; }
}

async function call(method, url, body, csrf) {
  let response;
  try {
    response = await fetch(url, {
      method, credentials: "same-origin", redirect: "manual", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...(csrf ? { "X-CSRFToken": csrf } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new Stop("offline");  // no network, or the connection dropped mid-request: try again later
  }
  if (response.status === 401 || response.type === "opaqueredirect") throw new Stop("signed-out");
  if (response.status >= 500) throw new Stop("offline");
  let data = null;
  try { data = await response.json(); } catch (error) { data = null; }
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
    versions_listed_at: run.versions_listed_at || undefined };
  const { status, data } = await withToken(token, "PUT", `/api/v1/runs/${run.id}`, body);
  if (status === 200 || status === 201) return markRunSent(run.id);
  return markRunRefused(run.id, reason(data));
}

async function sendEvents(token, runId, events) {
  for (let start = 0; start < events.length; start += BATCH) {
    const batch = events.slice(start, start + BATCH);
    const payload = batch.map(({ id, type, step, value, note, at }) => ({ id, type, step, value, note, at }));
    const { status, data } = await withToken(token, "POST", `/api/v1/runs/${runId}/events`, { events: payload });
    if (status === 200 && data) {
      await markSent([...(data.accepted || []), ...(data.duplicates || [])].map((e) => (typeof e === "string" ? e : e.id)));
      continue;
    }
    // All or nothing: the batch was refused. Name the event the server blamed (else the first) and stop this run.
    const index = data && data.error && data.error.details && Number.isInteger(data.error.details.index)
      ? data.error.details.index : 0;
    await markRefused(batch[Math.min(index, batch.length - 1)].id, reason(data));
    return;
  }
}

async function sendOnce() {
  const { runs, events } = await pending();
  if (!runs.length && !events.length) return "sent";
  const me = await session();
  const token = { value: me.csrf_token };
  const mine = theirs(me.user);
  for (const run of runs.filter(mine)) if (!run.error) await sendRun(token, run);
  const after = await pending();
  const blocked = new Set(after.runs.map((r) => r.id));  // a run the server does not have yet
  const byRun = new Map();
  for (const event of after.events.filter(mine)) {
    if (blocked.has(event.run)) continue;
    if (!byRun.has(event.run)) byRun.set(event.run, []);
    byRun.get(event.run).push(event);
  }
  for (const [runId, list] of byRun) {
    const stopAt = list.findIndex((e) => e.error);  // never send past a refused event: order matters
    await sendEvents(token, runId, stopAt === -1 ? list : list.slice(0, stopAt));
  }
  const left = await pending();
  return left.runs.length || left.events.length ? "refused" : "sent";
}

// Send everything waiting; resolve with "sent", "refused", "offline" or "signed-out". Never throws.
export async function sendAll() {
  const run = async () => {
    let state;
    try {
      state = await sendOnce();
    } catch (error) {
      state = error instanceof Stop ? error.state : "offline";
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
