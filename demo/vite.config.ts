// The page's build and dev settings. demo/server.ts serves the page through Vite in middleware mode.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  appType: 'spa',
  clearScreen: false,
  logLevel: 'warn',
  // Dependencies (comlink, idb-keyval) are plain ESM: serve them as they are. Without this, Vite
  // pre-bundles on first sight and reloads the page halfway through, which resets uploads. Uppy's
  // entries are bundled up front, as they must be (some of their dependencies, lodash's, are
  // CommonJS): the screen's own and the one @bucketseal/uppy imports.
  optimizeDeps: { noDiscovery: true, include: ['@uppy/core', '@uppy/core/utils', '@uppy/dashboard', '@uppy/golden-retriever'] },
  // Upload Workers are module Workers (packages/client/src/pool.ts).
  worker: { format: 'es' },
  build: { target: 'es2022' },
})
