// The smallest IndexedDB layer the app needs (after jakearchibald/idb-keyval): one database, four stores.
//   runs:   runs started on this phone {id, protocol_id, protocol_version, label, mode, language, sent,
//           operation_id (joined) or operation {id, label} (opened)}
//   events: every event made on this phone {seq, id, run, type, step, value, note, at, sent, error}
//   meta:   small facts (for example whether the session has ended), and the latest receipt per person
//           and run under ["receipt", user, run] (see outbox.js)
//   vault:  the PIN's salt and check value, the count of wrong PINs, the unlocked session (see vault.js)
// Values of runs, events and meta are sealed by vault.js on the way in and opened on the way out: only the
// keys IndexedDB looks things up by stay in the clear (a run's id, an event's seq, id and run id: random
// UUIDs and numbers), everything else (labels, answers, notes, who) is stored as {…keys, sealed: {iv, data}}.
import { currentKey, seal, unseal } from "./vault.js";

const NAME = "donoharm";
const SEALED = { runs: ["id"], events: ["seq", "id", "run"], meta: [] };
let opening = null;

export function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, 2);
      request.onupgradeneeded = (change) => {
        const d = request.result;
        if (change.oldVersion < 1) {
          d.createObjectStore("runs", { keyPath: "id" });
          const events = d.createObjectStore("events", { keyPath: "seq", autoIncrement: true });
          events.createIndex("id", "id", { unique: true });
          events.createIndex("run", "run");
          d.createObjectStore("meta");
        }
        if (change.oldVersion < 2) d.createObjectStore("vault");
      };
      request.onsuccess = () => {
        const d = request.result;
        d.onversionchange = () => { d.close(); opening = null; };  // let a wipe delete the database
        resolve(d);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error("database blocked"));
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// One IndexedDB transaction around fn(stores): fn must not wait on anything but the stores' requests.
async function rawTx(names, mode, fn) {
  const t = (await db()).transaction(names, mode);
  const complete = new Promise((resolve, reject) => {
    t.oncomplete = resolve;
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error("transaction aborted"));
  });
  const stores = Object.fromEntries([].concat(names).map((n) => [n, t.objectStore(n)]));
  const result = await fn(stores);
  await complete;
  return result;
}

const one = (store, mode, call) => rawTx(store, mode, (s) => done(call(s[store])));

async function sealValue(store, value) {
  const clear = {};
  for (const field of SEALED[store]) if (value && value[field] !== undefined) clear[field] = value[field];
  return { ...clear, sealed: await seal(value) };
}

// A value as the app saved it. A value in the clear was saved before the vault existed (sealed at setup).
export async function openValue(value) {
  if (!value || typeof value !== "object" || !value.sealed) return value;
  const inner = await unseal(value.sealed);
  return value.seq !== undefined && inner && typeof inner === "object" ? { ...inner, seq: value.seq } : inner;
}

const openAll = (values) => Promise.all(values.map(openValue));

// A store as outbox.js uses it: the IDBObjectStore methods it calls, each a promise of opened values.
function sealedStore(name) {
  const index = (indexName) => ({
    get: (key) => one(name, "readonly", (s) => s.index(indexName).get(key)).then(openValue),
    getAll: (key) => one(name, "readonly", (s) => s.index(indexName).getAll(key)).then(openAll),
  });
  return {
    get: (key) => one(name, "readonly", (s) => s.get(key)).then(openValue),
    getAll: (query) => one(name, "readonly", (s) => s.getAll(query)).then(openAll),
    getAllKeys: (query) => one(name, "readonly", (s) => s.getAllKeys(query)),
    put: async (value, key) => {
      const sealed = await sealValue(name, value);
      return one(name, "readwrite", (s) => (key === undefined ? s.put(sealed) : s.put(sealed, key)));
    },
    delete: (key) => one(name, "readwrite", (s) => s.delete(key)),
    index,
  };
}

// Run fn(stores, done) over the sealed stores; resolve with fn's result. Sealing is asynchronous and an
// IndexedDB transaction closes when it waits on anything else, so each call is its own transaction and a
// Web Lock keeps fn's reads and writes together: no other tab or the service worker writes in between.
// A write waits for the key before it takes the lock: a write waiting for the PIN while holding the lock would
// keep every other page's reads waiting too (reads of nothing sealed need no key and go on while locked).
export async function tx(names, mode, fn) {
  if (mode === "readwrite") await currentKey();
  const stores = Object.fromEntries([].concat(names).map((n) => [n, sealedStore(n)]));
  const body = () => fn(stores, (request) => request);
  const locks = typeof navigator !== "undefined" && navigator.locks;
  if (!locks) return body();
  return locks.request("dnh-idb", { mode: mode === "readwrite" ? "exclusive" : "shared" }, body);
}

export const get = (store, key) => tx(store, "readonly", (s) => s[store].get(key));
export const put = (store, value, key) => tx(store, "readwrite", (s) => s[store].put(value, key));
export const all = (store) => tx(store, "readonly", (s) => s[store].getAll());
export const byIndex = (store, index, key) => tx(store, "readonly", (s) => s[store].index(index).getAll(key));

// The vault's own store: salt and check value (not secret), the unlocked session's key (a CryptoKey object).
export const plain = {
  get: (key) => one("vault", "readonly", (s) => s.get(key)),
  put: (key, value) => one("vault", "readwrite", (s) => s.put(value, key)),
  delete: (key) => one("vault", "readwrite", (s) => s.delete(key)),
};

// Seal what an earlier version of the app stored in the clear (runs, events, meta).
export async function sealLegacy() {
  for (const name of Object.keys(SEALED)) {
    const [keys, values] = await rawTx(name, "readonly", (s) => Promise.all([done(s[name].getAllKeys()),
      done(s[name].getAll())]));
    for (let i = 0; i < values.length; i += 1) {
      if (values[i] && values[i].sealed) continue;
      const sealed = await sealValue(name, values[i]);
      await one(name, "readwrite", (s) => (name === "meta" ? s.put(sealed, keys[i]) : s.put(sealed)));
    }
  }
}

// Forget everything this app keeps in IndexedDB on this phone.
export async function wipe() {
  if (opening) { (await opening).close(); opening = null; }
  await done(indexedDB.deleteDatabase(NAME));
}
