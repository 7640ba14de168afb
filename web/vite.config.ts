import { defineConfig } from "vitest/config";

// Preact's JSX through esbuild: no Babel, no plugin.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    target: "es2020",
    sourcemap: false,
    modulePreload: { polyfill: false }, // the polyfill is an inline script; CSP forbids it
    chunkSizeWarningLimit: 1200, // MapLibre's own chunk, loaded only with a map
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
