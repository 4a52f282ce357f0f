// Do No Harm service worker (rendered by donoharm/web/pwa.py; scope: the whole app).
// One handler per lifecycle event, everything awaited in waitUntil (after mdn/pwa-examples).
import { sendAll } from {{ sync_url }};

const VERSION = "{{ version }}";
const SHELL_CACHE = `dnh-shell-${VERSION}`;
const PAGES_CACHE = "dnh-pages";  // private pages; emptied on sign-out
const SHELL = {{ shell }};
// Sign-in pages carry a one-time form token: a saved copy would only fail. Offline they show the offline page.
const NEVER_SAVED = ["/login", "/logout", "/setup"];

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

// Pages: the network first so people see the server's truth; the copy saved on this phone without a signal.
async function networkFirst(request) {
  const url = new URL(request.url);
  try {
    const response = await fetchInTime(request, url);
    if (response.ok && !response.redirected && request.mode === "navigate" && !NEVER_SAVED.includes(url.pathname)) {
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    // Blank run pages carry the local run's id in the query string: any copy of the page will do.
    const loose = url.pathname.startsWith("/offline/runs/");
    const cached = NEVER_SAVED.includes(url.pathname) ? null : await fromCache(request, { ignoreSearch: loose });
    if (cached) return cached;
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
