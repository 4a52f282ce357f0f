// The outbox: runs and events saved on this phone first, sent later. An entry counts as sent only
// once the server has acknowledged its id; a refused one keeps the server's reason until dealt with.
import { all, byIndex, get, put, tx } from "./idb.js";

export function uuid() {
  return crypto.randomUUID();
}

// Device time to the millisecond: when two phones answer one step, the answer made last wins.
export function now() {
  return new Date().toISOString();
}

export function saveRun(run) {
  return put("runs", { ...run, sent: false });
}

export const localRun = (id) => get("runs", id);
export const localRuns = () => all("runs");

// What one person saved on this phone. On a shared phone nobody else sees, opens, sends or discards it;
// entries from before changes were kept per person have no user and belong to whoever is signed in.
export const ownedBy = (user) => (entry) => !entry.user || entry.user === user;

const sameChange = (a, b) => a.type === b.type && (a.step || null) === (b.step || null)
  && JSON.stringify(a.value ?? null) === JSON.stringify(b.value ?? null) && (a.note || null) === (b.note || null);
const DOUBLE_TAP_MS = 1000;

// Save a change on the phone; resolve with the stored event. A change identical to one the same person
// made on this run within the last second (a double tap) is that change, not a new one; so is a second
// submission of a run this phone has already submitted.
export async function saveEvent(runId, event) {
  const record = { id: uuid(), step: null, value: null, note: null, at: now(), ...event, run: runId, sent: false };
  return tx("events", "readwrite", async (s, done) => {
    const mine = (await done(s.events.index("run").getAll(runId))).filter(ownedBy(record.user))
      .sort((a, b) => a.seq - b.seq);
    const last = mine[mine.length - 1];
    if (last && sameChange(last, record) && Date.now() - (last.savedAt || 0) < DOUBLE_TAP_MS) return last;
    if (record.type === "run.submitted") {
      const submitted = mine.find((e) => e.type === "run.submitted" && !e.error);
      if (submitted) return submitted;
    }
    record.savedAt = Date.now();
    await done(s.events.put(record));
    return record;
  });
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
    if (run) await done(s.runs.put({ ...run, error, refusedAt: Date.now(), tries: (run.tries || 0) + 1 }));
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

// A refusal is the server's word on a change at one moment, not final: the change is tried again later
// (see sync.js), and `tries` spaces those tries out. `code` and `spans` keep what the page needs to offer a
// way out (a text the personal-data guard questioned can be confirmed, see confirmRefusedText).
export function markRefused(id, error, code = null, spans = null) {
  return tx("events", "readwrite", async (s, done) => {
    const event = await done(s.events.index("id").get(id));
    if (event) {
      await done(s.events.put({ ...event, error, errorCode: code, errorSpans: spans, refusedAt: Date.now(),
        tries: (event.tries || 0) + 1 }));
    }
  });
}

// The person confirmed that a text the server's personal-data guard questioned identifies nobody: the change
// goes again at once, with that confirmation.
export function confirmRefusedText(id) {
  return tx("events", "readwrite", async (s, done) => {
    const event = await done(s.events.index("id").get(id));
    if (event && event.error && !event.sent) {
      await done(s.events.put({ ...event, text_confirmed: true, error: null, errorCode: null, errorSpans: null,
        refusedAt: null, tries: 0 }));
    }
  });
}

// A supervisor removed these events' texts on the server (`removed`: [{event, value_is_text}]): the copies this
// phone keeps lose them too — the events themselves and what the phone was told about them (notices). Resolves
// with the removals not seen before for the run, so the caller can refresh the pages saved for it.
export function dropRemovedTexts(runId, removed) {
  const byId = new Map(removed.map((r) => [r.event, r]));
  const seenKey = ["removed-texts", runId];
  return tx(["events", "meta"], "readwrite", async (s, done) => {
    for (const event of await done(s.events.index("run").getAll(runId))) {
      const removal = byId.get(event.id);
      if (!removal || (event.redacted && event.note == null)) continue;
      const textAnswer = removal.value_is_text || event.value_is_text;
      await done(s.events.put({ ...event, note: null, value: textAnswer ? null : event.value, redacted: true }));
    }
    const notices = (await done(s.meta.get("notices"))) || [];
    const cleaned = notices.map((n) => {
      let changed = n;
      // The phone's own answer that another phone's replaced, then removed: its text goes.
      if (byId.has(n.event) && byId.get(n.event).value_is_text) changed = { ...changed, mine: null };
      // What the step says now, when that text was removed since.
      if (n.now && byId.has(n.now)) {
        changed = { ...changed, note: null, redacted: true,
          value: byId.get(n.now).value_is_text ? null : changed.value };
      }
      return changed;
    });
    await done(s.meta.put(cleaned, "notices"));
    const seen = new Set((await done(s.meta.get(seenKey))) || []);
    const fresh = [...byId.keys()].filter((id) => !seen.has(id));
    if (fresh.length) await done(s.meta.put([...seen, ...fresh], seenKey));
    return fresh;
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

// Sign-out: forget what this person saved that the server has (nothing is lost), and with `unsent` also
// what it does not have yet (the person chose to discard it). Other people's changes are left alone.
// Resolve with the number of other people's changes still waiting on this phone.
export function forgetPerson(user, { unsent = false } = {}) {
  return tx(["runs", "events", "meta"], "readwrite", async (s, done) => {
    const gone = (x) => x.user === user && (x.sent || unsent);
    await done(s.meta.delete(receiptsOf(user)));  // receipts are about what the server has: theirs go too
    let others = 0;
    for (const event of await done(s.events.getAll())) {
      if (gone(event)) await done(s.events.delete(event.seq));
      else if (!event.sent && event.user !== user) others += 1;
    }
    for (const run of await done(s.runs.getAll())) {
      if (gone(run)) await done(s.runs.delete(run.id));
      else if (!run.sent && run.user !== user) others += 1;
    }
    return others;
  });
}

// Another person's changes that the server already has: the next person on this phone has no use for them.
export function forgetOthersSent(user) {
  return tx(["runs", "events", "meta"], "readwrite", async (s, done) => {
    for (const key of await done(s.meta.getAllKeys(ALL_RECEIPTS))) {
      if (key[1] !== user) await done(s.meta.delete(key));
    }
    for (const event of await done(s.events.getAll())) {
      if (event.sent && event.user && event.user !== user) await done(s.events.delete(event.seq));
    }
    for (const run of await done(s.runs.getAll())) {
      if (run.sent && run.user && run.user !== user) await done(s.runs.delete(run.id));
    }
  });
}

// Receipts: the server's signed word that it holds a run's chain up to a position (`seq` changes, ending in
// `head`). One per person and run, in `meta` under ["receipt", user, run]; only the latest is kept. A receipt
// whose position is not beyond the kept one's never replaces it: if the server ever answers with an earlier
// or different head for the same position, the receipt already kept is the evidence.
const receiptKey = (user, runId) => ["receipt", user, runId];
const receiptsOf = (user) => IDBKeyRange.bound(["receipt", user], ["receipt", user, []]);
const ALL_RECEIPTS = IDBKeyRange.bound(["receipt"], ["receipt", []]);

export function keepReceipt(user, receipt) {
  return tx("meta", "readwrite", async (s, done) => {
    const key = receiptKey(user, receipt.run);
    const kept = await done(s.meta.get(key));
    if (!kept || receipt.seq > kept.seq) await done(s.meta.put(receipt, key));
  });
}

export const receiptOf = (user, runId) => get("meta", receiptKey(user, runId));

// What a person must be told about a run: answers of theirs that another phone's later answer replaced.
export async function noticesOf(runId, user) {
  return ((await get("meta", "notices")) || []).filter((n) => n.run === runId && n.user === user);
}

export function addNotices(notices) {
  return tx("meta", "readwrite", async (s, done) => {
    const known = (await done(s.meta.get("notices"))) || [];
    const ids = new Set(known.map((n) => n.event));
    await done(s.meta.put([...known, ...notices.filter((n) => !ids.has(n.event))], "notices"));
  });
}

export function dismissNotice(eventId) {
  return tx("meta", "readwrite", async (s, done) => {
    const known = (await done(s.meta.get("notices"))) || [];
    await done(s.meta.put(known.filter((n) => n.event !== eventId), "notices"));
  });
}

export const getMeta = (key) => get("meta", key);
export const setMeta = (key, value) => put("meta", value, key);
