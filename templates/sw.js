// Do No Harm service worker (rendered by donoharm/web/pwa.py; scope: the whole app).
// One handler per lifecycle event, everything awaited in waitUntil (after mdn/pwa-examples).
import { sendAll } from {{ sync_url }};
import { isSealed, keyIfUnlocked, openPage, sealPage } from {{ vault_url }};

const VERSION = "{{ version }}";
const SHELL_CACHE = `dnh-shell-${VERSION}`;
const PAGES_CACHE = "dnh-pages";  // private pages, sealed with the vault's key (vault.js); emptied on sign-out
const SHELL = {{ shell }};
// Sign-in pages carry a one-time form token: a saved copy would only fail. Offline they show the offline page.
// (The sign-out page is saved: offline, its script signs out on the phone and leaves the server's part for later.)
const NEVER_SAVED = ["/login", "/setup"];
// The neutral page of Hide and the PIN page are in the shell (nothing of anyone's in them): not saved again.
const SHELL_ONLY = ["/hidden", "/unlock"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("dnh-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function fromCache(request, options) {
  return (await caches.match(request, { ignoreVary: true, ...options })) || null;
}

// Static files: the precached copy (the cache's name changes with every deploy), else the network.
async function staticFirst(request) {
  const cached = await fromCache(request, { ignoreSearch: true });
  return cached || fetch(request);
}

// A server that takes the connection but never answers: after this long the saved copy is shown instead.
// Documents made on request (record PDFs, handouts) may take longer and have no saved copy to fall back on.
const PAGE_TIMEOUT_MS = 6000;

function fetchInTime(request, url) {
  const response = fetch(request);
  if (/\.(pdf|csv|yaml)$/.test(url.pathname)) return response;
  // A race, not an AbortController: a navigation's request cannot be copied with a signal of its own.
  let timer;
  const late = new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error("no answer")), PAGE_TIMEOUT_MS); });
  return Promise.race([response, late]).finally(() => clearTimeout(timer));
}

// A saved private page opens only with the key; locked, the PIN page is shown, which reloads once unlocked.
async function openSaved(cached) {
  if (!isSealed(cached)) return cached;
  const key = await keyIfUnlocked();
  if (key) return openPage(cached, key);
  return (await fromCache("/unlock")) || Response.error();
}

// Pages: the network first so people see the server's truth; the copy saved on this phone without a signal.
async function networkFirst(request) {
  const url = new URL(request.url);
  try {
    const response = await fetchInTime(request, url);
    if (response.ok && !response.redirected && request.mode === "navigate" && !NEVER_SAVED.includes(url.pathname)
        && !SHELL_ONLY.includes(url.pathname)) {
      // Saved sealed, and only while the app is unlocked: a locked phone keeps no readable copy of a page.
      try {
        const key = await keyIfUnlocked();
        if (key) await (await caches.open(PAGES_CACHE)).put(request, await sealPage(response.clone(), key));
      } catch (sealing) { /* not saved this time: the page itself still shows */ }
    }
    return response;
  } catch (error) {
    // Blank run pages carry the local run's id in the query string: any copy of the page will do.
    const loose = url.pathname.startsWith("/offline/runs/");
    const cached = NEVER_SAVED.includes(url.pathname) ? null : await fromCache(request, { ignoreSearch: loose });
    if (cached) return openSaved(cached);
    if (request.mode === "navigate") return (await fromCache("/offline")) || Response.error();
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;  // always live
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticFirst(request));
  } else {
    event.respondWith(networkFirst(request));
  }
});

// Background Sync: send the outbox even when no page of the app is open.
self.addEventListener("sync", (event) => {
  if (event.tag === "dnh-outbox") event.waitUntil(sendAll());
});

self.addEventListener("message", (event) => {
  if (event.data === "send") event.waitUntil(sendAll());
  if (event.data === "claim") event.waitUntil(self.clients.claim());
});
