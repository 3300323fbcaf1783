/// <reference types="node" />
/**
 * The packages as a user gets them: built, packed with `pnpm pack` (which applies `publishConfig`,
 * so exports point at dist/), and installed with npm into an empty app in a temporary folder,
 * together with the app's own dependencies (comlink, @uppy/core) and the app's sources from ./app/.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const APP_SOURCES = fileURLToPath(new URL('./app/', import.meta.url))
const PACKAGES = ['core', 'keys', 'client', 'server', 'uppy'] as const
/** The app's own comlink: the range @bucketseal/client asks for, so npm installs one copy, as it would for a user. */
const COMLINK = 'comlink@^4.4.2'
/** The app's own Uppy: @bucketseal/uppy's peer dependency, as an Uppy app already has it. */
const UPPY = '@uppy/core@^6.0.0'

/** The installed `@bucketseal/server`, loaded from the scratch app's node_modules. */
export type ServerModule = typeof import('@bucketseal/server')
/** The installed `@bucketseal/server/s3` (the S3 client), from the same place. */
export type S3Module = typeof import('@bucketseal/server/s3')

export interface ScratchApp {
  /** The app's folder: package.json, node_modules/, main.ts, own-worker.ts, index.html. */
  readonly dir: string
  readonly server: ServerModule
  readonly s3: S3Module
  close(): Promise<void>
}

/** pnpm as scripts/test.sh installs it (.tools/), else the one on PATH. */
function pnpm(): string {
  const local = join(ROOT, '.tools/node_modules/.bin/pnpm')
  return existsSync(local) ? local : 'pnpm'
}

/** Runs a command; a failure says which one and carries its output. */
async function sh(command: string, args: readonly string[], cwd: string): Promise<void> {
  try {
    await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const out = (name: string): string => {
      const v = typeof error === 'object' && error !== null && name in error ? Reflect.get(error, name) : ''
      return typeof v === 'string' ? v.trim() : ''
    }
    // pnpm prints a failing script's output on stdout and its summary on stderr: show both.
    const output = [out('stdout'), out('stderr')].filter((t) => t !== '').join('\n') || String(error)
    throw new Error(`\`${command} ${args.join(' ')}\` failed in ${cwd}:\n${output}`)
  }
}

/** True when `m` is a module object whose `names` are all functions. */
function exportsFunctions(m: unknown, names: readonly string[]): boolean {
  if (typeof m !== 'object' || m === null) return false
  return names.every((name) => typeof Reflect.get(m, name) === 'function')
}
const isServerModule = (m: unknown): m is ServerModule => exportsFunctions(m, ['createPresignHandler', 'toNodeListener'])
const isS3Module = (m: unknown): m is S3Module => exportsFunctions(m, ['S3Client'])

/**
 * Builds the five packages, packs them, and installs the tarballs with npm into a new app folder.
 * Set BUCKETSEAL_KEEP_CONSUMER_APP=1 to keep the folder after the tests (its path is printed).
 * @throws {Error} a build, pack or install failed (with the command's output).
 */
export async function createScratchApp(): Promise<ScratchApp> {
  // Idempotent, and a few seconds: the tarballs must hold the current sources' dist/, whether or
  // not scripts/test.sh built just before.
  await sh(pnpm(), ['--filter', './packages/*', 'run', 'build'], ROOT)
  const dir = await mkdtemp(join(tmpdir(), 'bucketseal-consumer-'))
  try {
    const tarballs = join(dir, 'tarballs')
    await mkdir(tarballs)
    for (const pkg of PACKAGES) await sh(pnpm(), ['pack', '--pack-destination', tarballs], join(ROOT, 'packages', pkg))
    const files = (await readdir(tarballs)).filter((f) => f.endsWith('.tgz')).map((f) => join(tarballs, f))
    if (files.length !== PACKAGES.length) throw new Error(`expected ${PACKAGES.length} tarballs in ${tarballs}, got: ${files.join(', ')}`)
    await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }, null, 2)}\n`)
    await sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, COMLINK, UPPY], dir)
    await cp(APP_SOURCES, dir, { recursive: true })
    const resolve = createRequire(join(dir, 'package.json')).resolve
    const entry = resolve('@bucketseal/server')
    const server: unknown = await import(pathToFileURL(entry).href)
    if (!isServerModule(server)) throw new Error(`${entry} does not export createPresignHandler and toNodeListener`)
    const s3Entry = resolve('@bucketseal/server/s3')
    const s3: unknown = await import(pathToFileURL(s3Entry).href)
    if (!isS3Module(s3)) throw new Error(`${s3Entry} does not export S3Client`)
    return {
      dir,
      server,
      s3,
      async close() {
        if (process.env.BUCKETSEAL_KEEP_CONSUMER_APP === '1') console.log(`consumer app kept in ${dir}`)
        else await rm(dir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

/**
 * Type-checks the app against the declarations the tarballs ship, with the workspace's TypeScript.
 * @throws {Error} with tsc's messages.
 */
export async function typecheckApp(app: ScratchApp): Promise<void> {
  await sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(app.dir, 'tsconfig.json')], app.dir)
}
