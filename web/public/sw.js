// The app shell offline: pages and built assets from the cache; the API is never cached here
// (case data waits in IndexedDB, and the outbox sends what was recorded offline).
const SHELL = "ejcorps-shell-v1";

// The shell: the page and the scripts and styles it names (the map's code is cached when
// first used).
async function cacheShell() {
  const cache = await caches.open(SHELL);
  const page = await fetch("/", { cache: "no-cache" });
  const html = await page.clone().text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  await cache.put("/", page);
  await cache.addAll([...new Set(assets), "/icon.svg", "/manifest.webmanifest"]);
}

self.addEventListener("install", (event) => {
  event.waitUntil(cacheShell());
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "clear") event.waitUntil(caches.delete(SHELL));
});

function isApi(url) {
  return /^\/(api|ogc|health|docs|redoc|openapi\.json|static-offline-docs)/.test(url.pathname);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || isApi(url)) return;
  if (url.pathname.startsWith("/assets/")) {
    // content-hashed: the cached copy is always right
    event.respondWith(
      caches.match(request).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              caches.open(SHELL).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
    return;
  }
  if (request.mode === "navigate") {
    // the shell first (fast on a weak line), refreshed in the background
    event.respondWith(
      caches.open(SHELL).then(async (cache) => {
        const cached = await cache.match("/");
        const network = fetch("/", { cache: "no-cache" })
          .then((response) => {
            if (response.ok) cache.put("/", response.clone());
            return response;
          })
          .catch(() => cached);
        return cached || network;
      }),
    );
  }
});
