// `node demo/start.mjs`: starts the demo server (demo/server.ts). Node 20 cannot run TypeScript by
// itself, and a TypeScript runner (tsx) would bring esbuild, whose install script pnpm refuses to
// run here; Vite, already here for the page, loads server.ts and the workspace packages' TypeScript
// sources it imports through its SSR loader. So this file stays plain JavaScript.
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'

const loader = await createServer({
  configFile: false,
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'error',
  appType: 'custom',
  server: { middlewareMode: true, hmr: false, ws: false, watch: null },
})
try {
  const { main } = await loader.ssrLoadModule('/server.ts')
  await loader.close() // the modules stay loaded; the page gets its own Vite server in server.ts
  await main()
} catch (error) {
  console.error(`demo: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
