// The vault: everything the app keeps on this phone is sealed with AES-GCM under a key derived from a PIN.
// WebCrypto only. PBKDF2-SHA256, 600,000 iterations (OWASP password storage cheat sheet, 2023), a random
// 16-byte salt kept in the clear; AES-GCM 256 with a random 12-byte IV for every value sealed.
//
// Where the key lives: in this module while a page is open, and, so that opening the next page does not ask
// for the PIN again, as a non-extractable CryptoKey in IndexedDB ("vault" store, key "session") with the time
// of the person's last activity. It is deleted on lock, Hide, sign-out and after the idle time; a session
// found older than the idle time is deleted unused. Threat model (README, "The phone's vault"): while the app
// is unlocked the browser can use the key, and the browser's own files hold it; whoever takes the phone
// locked, or after the idle time, finds only sealed values and the salt.
import { plain, wipe } from "./idb.js";

export const ITERATIONS = 600000;
export const MAX_TRIES = 10;
const CHECK = "do-no-harm-vault-check";  // sealed at setup: a PIN that opens it is the right one
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("dnh-vault") : null;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let key = null;
let waiting = [];
let lockMs = 5 * 60 * 1000;
let lastSaved = 0;

export class Locked extends Error {
  constructor() { super("the app is locked"); this.name = "Locked"; }
}

const inPage = typeof document !== "undefined";

function release(found) {
  key = found;
  for (const resolve of waiting) resolve(found);
  waiting = [];
}

async function derive(pin, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", encoder.encode(pin), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material,
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

async function sealWith(k, bytes) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, k, bytes));
  return { iv, data };
}

const openWith = async (k, { iv, data }) => new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, k, data));

// The session kept for the next page, if it is still within the idle time; else forget it.
async function storedSession() {
  const session = await plain.get("session");
  if (!session) return null;
  if (Date.now() - session.lastActive > session.lockMs) {
    await plain.delete("session");
    return null;
  }
  return session;
}

// The key now, or (in a page) once the person has unlocked; in the service worker, the unlocked session's
// key or a Locked error: background sending waits for the app to be unlocked.
export async function currentKey() {
  if (key) return key;
  const session = await storedSession();
  if (session) return session.key;
  if (key) return key;  // unlocked while the session was being read: waiting now would wait for ever
  if (!inPage) throw new Locked();
  return new Promise((resolve) => waiting.push(resolve));
}

// The key if the app is unlocked, else null; never waits.
export async function keyIfUnlocked() {
  if (key) return key;
  const session = await storedSession().catch(() => null);
  return session ? session.key : null;
}

export const exists = async () => Boolean(await plain.get("setup"));
export const isUnlocked = () => Boolean(key);

// On page start: the idle time, and the key of a session still open.
export async function resume(seconds) {
  if (seconds > 0) lockMs = seconds * 1000;
  const session = await storedSession();
  if (session) {
    release(session.key);
    touch(true);
  }
  return Boolean(session);
}

// The person did something: the idle time starts again (written down at most every few seconds).
export function touch(force = false) {
  if (!key) return;
  const now = Date.now();
  if (!force && now - lastSaved < Math.min(10000, lockMs / 4)) return;
  lastSaved = now;
  plain.put("session", { key, lastActive: now, lockMs }).catch(() => {});
}

async function open(k) {
  release(k);
  lastSaved = 0;
  await plain.put("session", { key: k, lastActive: Date.now(), lockMs });
  lastSaved = Date.now();
}

async function dropUnsealedPages() {
  if (typeof caches === "undefined" || !(await caches.has("dnh-pages"))) return;
  const cache = await caches.open("dnh-pages");
  for (const request of await cache.keys()) {
    if (!isSealed(await cache.match(request))) await cache.delete(request);
  }
}

// First sign-in on this phone: make the vault, then seal what an earlier version of the app left in the clear.
export async function create(pin) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const k = await derive(pin, salt, ITERATIONS);
  const check = await sealWith(k, encoder.encode(CHECK));
  // Pages an earlier version saved in the clear go; they are saved again, sealed, as they are opened. One by
  // one, not the whole cache: pages waiting for the key to be saved sealed hold the cache open.
  await dropUnsealedPages();
  if (typeof localStorage !== "undefined") localStorage.removeItem("dnh-precached");
  await plain.put("setup", { salt, iterations: ITERATIONS, check });
  await plain.put("failures", 0);
  await open(k);
  const { sealLegacy } = await import("./idb.js");
  await sealLegacy();
}

// Resolve with {ok: true}, or {ok: false, left} after a wrong PIN, or {wiped: true} after the last try.
export async function unlock(pin) {
  const setup = await plain.get("setup");
  if (!setup) return { ok: false, left: MAX_TRIES };
  const k = await derive(pin, setup.salt, setup.iterations);
  try {
    if (decoder.decode(await openWith(k, setup.check)) !== CHECK) throw new Error("wrong");
  } catch (error) {
    const failures = ((await plain.get("failures")) || 0) + 1;
    if (failures >= MAX_TRIES) {
      await wipeDevice();
      return { ok: false, wiped: true };
    }
    await plain.put("failures", failures);
    return { ok: false, left: MAX_TRIES - failures };
  }
  await plain.put("failures", 0);
  await open(k);
  return { ok: true };
}

// Forget the key here, in the browser's storage and in every other open page of the app.
export async function lock({ tell = true } = {}) {
  key = null;
  if (tell && channel) channel.postMessage("lock");
  await plain.delete("session").catch(() => {});
}

export function onLock(callback) {
  if (channel) channel.addEventListener("message", (event) => { if (event.data === "lock") { key = null; callback(); } });
}

// Everything private the app keeps on this phone goes: IndexedDB (with the vault), the saved pages.
export async function wipeDevice() {
  key = null;
  if (channel) channel.postMessage("lock");
  if (typeof localStorage !== "undefined") localStorage.removeItem("dnh-precached");
  if (typeof caches !== "undefined") await caches.delete("dnh-pages");
  await wipe();
}

// Values: JSON sealed under the key.
export async function seal(value) {
  return sealWith(await currentKey(), encoder.encode(JSON.stringify(value)));
}

export async function unseal(sealed) {
  return JSON.parse(decoder.decode(await openWith(await currentKey(), sealed)));
}

// Saved pages: the body sealed, its type kept; a sealed page is opened again only with the key.
export async function sealPage(response, k = null) {
  const type = response.headers.get("Content-Type") || "text/html; charset=utf-8";
  const { iv, data } = await sealWith(k || await currentKey(), new Uint8Array(await response.arrayBuffer()));
  const body = new Uint8Array(12 + data.length);
  body.set(iv);
  body.set(data, 12);
  return new Response(body, { status: 200, headers: { "Content-Type": "application/octet-stream",
    "X-Dnh-Sealed": "1", "X-Dnh-Type": type } });
}

export const isSealed = (response) => Boolean(response && response.headers.get("X-Dnh-Sealed"));

export async function openPage(response, k = null) {
  if (!isSealed(response)) return response;
  const body = new Uint8Array(await response.arrayBuffer());
  const bytes = await openWith(k || await currentKey(), { iv: body.slice(0, 12), data: body.slice(12) });
  return new Response(bytes, { status: 200, headers: { "Content-Type": response.headers.get("X-Dnh-Type") } });
}
