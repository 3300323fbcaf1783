// Checks that the built browser packages (dist/ of core, keys, upload and uppy) use no JavaScript syntax
// beyond the support floor of docs/ENGINES.md. esbuild prints each file twice, once for the newest
// engines and once for the floor: where the two differ, esbuild had to rewrite something (a regular
// expression lookbehind becomes `new RegExp(...)`, a static block a function call) because an
// engine of the floor would not parse it. Run by scripts/test.sh after the build.
//
// It checks syntax only: the APIs the packages call (module Workers, Web Locks, AbortSignal.timeout)
// set the floor as well, and are listed in docs/ENGINES.md. @bucketseal/server runs on Node and
// Workers runtimes, not in browsers, so it is not checked here.
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { transform } from 'esbuild'

/** The support floor (docs/ENGINES.md), as esbuild targets. */
export const FLOOR = ['chrome103', 'edge103', 'firefox115', 'safari16', 'ios16']
const PACKAGES = ['core', 'keys', 'client', 'uppy']

const root = new URL('..', import.meta.url).pathname

/** The first line where `a` and `b` differ, with both versions, or null when they are the same. */
function firstDifference(a, b) {
  if (a === b) return null
  const x = a.split('\n')
  const y = b.split('\n')
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return { line: i + 1, newest: (x[i] ?? '').trim(), floor: (y[i] ?? '').trim() }
  }
  return null
}

/** What in `code` is beyond the floor: null if nothing, else a one-line reason. */
async function beyondFloor(code) {
  const newest = await transform(code, { loader: 'js', format: 'esm', target: 'esnext' })
  let floor
  try {
    floor = await transform(code, { loader: 'js', format: 'esm', target: FLOOR })
  } catch (error) {
    // Syntax esbuild cannot rewrite for the floor (top-level await, say) is an error.
    return String(error instanceof Error ? error.message : error).split('\n').slice(0, 3).join(' ')
  }
  const d = firstDifference(newest.code, floor.code)
  return d === null ? null : `line ${d.line} of esbuild's output: ${d.newest.slice(0, 160)}\n      needs, for ${FLOOR.join(', ')}: ${d.floor.slice(0, 160)}`
}

async function* jsFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) yield* jsFiles(path)
    else if (entry.name.endsWith('.js')) yield path
  }
}

// The check must be able to fail: syntax the floor lacks (a lookbehind needs Safari 16.4, a static
// block Safari 16.4) is reported, and what it has (class fields, `??=`) is not.
if ((await beyondFloor('export const r = /(?<!a)b/')) === null || (await beyondFloor('export class C { static { this.x = 1 } }')) === null) {
  console.error('check-syntax-floor: the self-check did not flag syntax beyond the floor; esbuild\'s targets are not doing what this script expects.')
  process.exit(2)
}
if ((await beyondFloor('export class C { #a = 1; b = 2; static c = 3; get a() { return this.#a } }; let x; x ??= 1')) !== null) {
  console.error('check-syntax-floor: the self-check flagged syntax that the floor supports.')
  process.exit(2)
}

let files = 0
const failures = []
for (const pkg of PACKAGES) {
  const dist = join(root, 'packages', pkg, 'dist')
  for await (const file of jsFiles(dist)) {
    files++
    const reason = await beyondFloor(await readFile(file, 'utf8'))
    if (reason !== null) failures.push(`  ${relative(root, file)}: ${reason}`)
  }
}
if (files === 0) {
  console.error('check-syntax-floor: no dist/*.js found; run the build first (pnpm build).')
  process.exit(1)
}
if (failures.length > 0) {
  console.error(`check-syntax-floor: ${failures.length} of ${files} built files use syntax beyond the support floor (${FLOOR.join(', ')}; docs/ENGINES.md):\n${failures.join('\n')}`)
  process.exit(1)
}
console.log(`check-syntax-floor: ${files} built files of ${PACKAGES.map((p) => `@bucketseal/${p}`).join(', ')} parse in ${FLOOR.join(', ')}`)
