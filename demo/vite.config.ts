// The page's build and dev settings. demo/server.ts serves the page through Vite in middleware mode.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  appType: 'spa',
  clearScreen: false,
  logLevel: 'warn',
  // Dependencies (comlink, idb-keyval) are plain ESM: serve them as they are. Without this, Vite
  // pre-bundles on first sight and reloads the page halfway through, which resets uploads.
  optimizeDeps: { noDiscovery: true, include: [] },
  // Upload Workers are module Workers (packages/upload/src/pool.ts).
  worker: { format: 'es' },
  build: { target: 'es2022' },
})
