// The outbox: runs and events saved on this phone first, sent later. An entry counts as sent only
// once the server has acknowledged its id; a refused one keeps the server's reason until dealt with.
import { all, byIndex, get, put, tx } from "./idb.js";

export function uuid() {
  return crypto.randomUUID();
}

export function now() {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

export function saveRun(run) {
  return put("runs", { ...run, sent: false });
}

export const localRun = (id) => get("runs", id);
export const localRuns = () => all("runs");

export async function saveEvent(runId, event) {
  const record = { id: uuid(), step: null, value: null, note: null, at: now(), ...event, run: runId, sent: false };
  await put("events", record);
  return record;
}

export async function eventsOf(runId) {
  const events = await byIndex("events", "run", runId);
  return events.sort((a, b) => a.seq - b.seq);
}

// What still has to go: runs to create, then events in the order they were made.
export async function pending() {
  const [runs, events] = await Promise.all([all("runs"), all("events")]);
  return {
    runs: runs.filter((r) => !r.sent),
    events: events.filter((e) => !e.sent).sort((a, b) => a.seq - b.seq),
  };
}

export async function unsentCount(runId) {
  const { runs, events } = await pending();
  const mine = (x) => !runId || x.run === runId || x.id === runId;
  return runs.filter(mine).length + events.filter(mine).length;
}

export function markRunSent(id) {
  return tx("runs", "readwrite", async (s, done) => {
    const run = await done(s.runs.get(id));
    if (run) await done(s.runs.put({ ...run, sent: true, error: null }));
  });
}

export function markRunRefused(id, error) {
  return tx("runs", "readwrite", async (s, done) => {
    const run = await done(s.runs.get(id));
    if (run) await done(s.runs.put({ ...run, error }));
  });
}

export function markSent(ids) {
  const wanted = new Set(ids);
  return tx("events", "readwrite", async (s, done) => {
    for (const event of await done(s.events.getAll())) {
      if (wanted.has(event.id) && !event.sent) await done(s.events.put({ ...event, sent: true, error: null }));
    }
  });
}

export function markRefused(id, error) {
  return tx("events", "readwrite", async (s, done) => {
    const event = await done(s.events.index("id").get(id));
    if (event) await done(s.events.put({ ...event, error }));
  });
}

// The person chose to give up a change the server refused: it leaves the phone without being sent,
// and the changes made after it can go. Only a refused, unsent event can be discarded.
export function discardRefused(id) {
  return tx("events", "readwrite", async (s, done) => {
    const event = await done(s.events.index("id").get(id));
    if (event && event.error && !event.sent) await done(s.events.delete(event.seq));
  });
}

// Drop the local copies of events the server page already shows: they are not needed any more.
export function forgetSent(ids) {
  const known = new Set(ids);
  return tx("events", "readwrite", async (s, done) => {
    for (const event of await done(s.events.getAll())) {
      if (event.sent && known.has(event.id)) await done(s.events.delete(event.seq));
    }
  });
}

export const getMeta = (key) => get("meta", key);
export const setMeta = (key, value) => put("meta", value, key);
