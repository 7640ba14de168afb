import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";

/** Write a .gz beside every text file of the build; the server sends it to who accepts gzip. */
function precompress(): Plugin {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return {
    name: "ejcorps-precompress",
    apply: "build",
    closeBundle() {
      for (const file of walk("dist")) {
        if (/\.(js|css|html|json|svg|webmanifest)$/.test(file)) {
          writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
        }
      }
    },
  };
}

// Preact's JSX through esbuild: no Babel, no plugin.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  plugins: [precompress()],
  build: {
    target: "es2020",
    sourcemap: false,
    modulePreload: { polyfill: false }, // the polyfill is an inline script; CSP forbids it
    chunkSizeWarningLimit: 1200, // MapLibre's own chunk, loaded only with a map
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
