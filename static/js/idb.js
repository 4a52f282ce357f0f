// The smallest IndexedDB layer the app needs (after jakearchibald/idb-keyval): one database, three stores.
//   runs:   runs started on this phone {id, protocol_id, protocol_version, label, mode, language, sent,
//           operation_id (joined) or operation {id, label} (opened)}
//   events: every event made on this phone {seq, id, run, type, step, value, note, at, sent, error}
//   meta:   small facts (for example whether the session has ended), and the latest receipt per person
//           and run under ["receipt", user, run] (see outbox.js)
const NAME = "donoharm";
let opening = null;

export function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, 1);
      request.onupgradeneeded = () => {
        const d = request.result;
        d.createObjectStore("runs", { keyPath: "id" });
        const events = d.createObjectStore("events", { keyPath: "seq", autoIncrement: true });
        events.createIndex("id", "id", { unique: true });
        events.createIndex("run", "run");
        d.createObjectStore("meta");
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

// Run fn(stores) in one transaction; resolve with fn's result once the transaction commits.
export async function tx(names, mode, fn) {
  const t = (await db()).transaction(names, mode);
  const complete = new Promise((resolve, reject) => {
    t.oncomplete = resolve;
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error("transaction aborted"));
  });
  const stores = Object.fromEntries([].concat(names).map((n) => [n, t.objectStore(n)]));
  const result = await fn(stores, done);
  await complete;
  return result;
}

export const get = (store, key) => tx(store, "readonly", (s) => done(s[store].get(key)));
export const put = (store, value, key) => tx(store, "readwrite", (s) => done(s[store].put(value, key)));
export const all = (store) => tx(store, "readonly", (s) => done(s[store].getAll()));
export const byIndex = (store, index, key) =>
  tx(store, "readonly", (s) => done(s[store].index(index).getAll(key)));

// Forget everything this app keeps in IndexedDB on this phone.
export async function wipe() {
  if (opening) { (await opening).close(); opening = null; }
  await done(indexedDB.deleteDatabase(NAME));
}
