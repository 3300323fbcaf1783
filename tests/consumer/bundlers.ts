/// <reference types="node" />
/**
 * The scratch app, bundled the ways users bundle it, each served with the presigning handler at
 * `/api/s3`: Vite's dev server (the handler as middleware, in a plugin), `vite build`, webpack 5
 * (production) and esbuild, the last three behind the static server. Each bundler runs with its
 * defaults, as an app that just added Bucketseal would; what a bundler needs beyond that is a bug
 * or a documented recipe, and the tests show which.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as esbuild from 'esbuild'
import { type Plugin, build as viteBuild, createServer as createViteServer } from 'vite'
import webpack from 'webpack'
import type { WorkerUrls } from './app/protocol.ts'
import { type Listener, type Served, serveStatic } from './static-server.ts'

export interface Bundling {
  readonly name: string
  /** Worker scripts the app must name itself (null: the bundler resolves the Worker URLs). */
  readonly workers: WorkerUrls | null
  /** Bundles the app in `dir` and serves it, with `api` at `/api/s3`. */
  serve(dir: string, api: Listener): Promise<Served>
}

/** `/api/s3/*` to the presigner, in front of Vite's own middlewares. */
function presignPlugin(api: Listener): Plugin {
  return {
    name: 'consumer-presign',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.startsWith('/api/s3/') === true) api(req, res)
        else next()
      })
    },
  }
}

const viteDev: Bundling = {
  name: 'vite dev',
  workers: null,
  async serve(dir, api) {
    const server = await createViteServer({
      configFile: false,
      root: dir,
      logLevel: 'warn',
      plugins: [presignPlugin(api)],
      // No file watching or HMR socket: nothing changes under a test.
      server: { host: '127.0.0.1', port: 0, watch: null, hmr: false },
    })
    await server.listen()
    const address = server.httpServer?.address()
    if (address === null || address === undefined || typeof address === 'string') {
      await server.close()
      throw new Error('The Vite dev server has no TCP port.')
    }
    return { url: `http://localhost:${address.port}/`, close: () => server.close() }
  },
}

const viteBuilt: Bundling = {
  name: 'vite build',
  workers: null,
  async serve(dir, api) {
    const outDir = join(dir, 'dist-vite')
    await viteBuild({ configFile: false, root: dir, logLevel: 'warn', build: { outDir, emptyOutDir: true } })
    return serveStatic(outDir, api)
  },
}

function runWebpack(config: webpack.Configuration): Promise<void> {
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) return reject(error)
      if (stats === undefined) return reject(new Error('webpack gave no stats'))
      if (stats.hasErrors()) return reject(new Error(`webpack failed:\n${stats.toString({ all: false, errors: true, errorDetails: true })}`))
      resolve()
    })
  })
}

const webpackBuilt: Bundling = {
  name: 'webpack 5',
  workers: null,
  async serve(dir, api) {
    const outDir = join(dir, 'dist-webpack')
    // Webpack 5 strips TypeScript types itself (experiments.typescript, on by default when no
    // loader claims .ts files), so the app needs no loader.
    await runWebpack({
      mode: 'production',
      context: dir,
      entry: { main: './main.ts' },
      output: { path: outDir, clean: true },
      devtool: false,
    })
    await writeFile(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>consumer (webpack)</title><link rel="icon" href="data:,"><script src="/main.js"></script>\n')
    return serveStatic(outDir, api)
  },
}

/**
 * esbuild does not turn `new Worker(new URL(…, import.meta.url))` into a Worker bundle, so the app
 * builds the Workers as entries of their own (the pool Worker from `@bucketseal/client/worker`)
 * and hands them to `workerPool` by URL.
 */
const esbuildBuilt: Bundling = {
  name: 'esbuild',
  workers: { pool: '/worker.js', own: '/own-worker.js' },
  async serve(dir, api) {
    const outDir = join(dir, 'dist-esbuild')
    await esbuild.build({
      absWorkingDir: dir,
      entryPoints: { main: './main.ts', worker: '@bucketseal/client/worker', 'own-worker': './own-worker.ts' },
      outdir: outDir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      logLevel: 'silent',
    })
    await writeFile(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>consumer (esbuild)</title><link rel="icon" href="data:,"><script type="module" src="/main.js"></script>\n')
    return serveStatic(outDir, api)
  },
}

export const BUNDLINGS: readonly Bundling[] = [viteDev, viteBuilt, webpackBuilt, esbuildBuilt]
