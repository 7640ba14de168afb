// Path routing over the History API: links are real hrefs, so they work with the keyboard.

import { signal } from "./signal";

export const route = signal(typeof location === "undefined" ? "/" : location.pathname + location.search);

/** Go to an app path without reloading. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route.set(path);
  window.scrollTo(0, 0);
}

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => route.set(location.pathname + location.search));
  // same-origin <a href> clicks stay in the app (downloads and new tabs excepted)
  document.addEventListener("click", (event) => {
    const a = (event.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || event.defaultPrevented) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}

/** Match a path against a pattern such as /cases/:id; returns the parameters or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const names: string[] = [];
  const re = new RegExp(
    "^" + pattern.replace(/:(\w+)/g, (_, n: string) => (names.push(n), "([^/]+)")) + "/?$",
  );
  const m = re.exec(path.split("?")[0]);
  if (!m) return null;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
}
