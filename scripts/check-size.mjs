// Size budget of every published entry point (issue 15; STYLE.md: "size budgets checked in the
// build", as idb-keyval and comlink do). Each entry of a package's publishConfig.exports is bundled
// from dist/ with esbuild (minified ESM, the package's own dependencies and peer dependencies left
// external, so the figure is what this package adds to an app), then measured as brotli and gzip.
// The budgets live in scripts/size-budget.json as brotli bytes; a new entry without a budget, or an
// entry over its budget, fails the run. Run by scripts/test.sh after the build;
// `node scripts/check-size.mjs --write` records the current sizes plus 10 % headroom as budgets.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { brotliCompressSync, gzipSync, constants } from 'node:zlib'
import { build } from 'esbuild'

const root = new URL('..', import.meta.url).pathname
const budgetFile = join(root, 'scripts', 'size-budget.json')
const write = process.argv.includes('--write')

/** The built file an export condition points at ("default" or "import"), or null for types only. */
function target(entry) {
  if (typeof entry === 'string') return entry
  return entry.default ?? entry.import ?? entry.browser ?? null
}

async function measure(pkgDir, pkg, subpath, file) {
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]
  const result = await build({
    entryPoints: [join(pkgDir, file)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: pkg.name === '@bucketseal/server' ? 'node' : 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    // A dependency's subpaths (@uppy/core/lib/…, comlink/…) are the dependency's bytes too.
    external: external.flatMap((name) => [name, `${name}/*`]),
    // Workers started with new URL('./worker.js', import.meta.url) are separate entries of their
    // own in publishConfig, measured there.
    loader: { '.js': 'js' },
  })
  const code = result.outputFiles[0].contents
  return {
    name: `${pkg.name}${subpath === '.' ? '' : subpath.slice(1)}`,
    min: code.byteLength,
    gzip: gzipSync(code, { level: 9 }).byteLength,
    brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  }
}

const rows = []
for (const dir of (await readdir(join(root, 'packages'), { withFileTypes: true })).filter((d) => d.isDirectory())) {
  const pkgDir = join(root, 'packages', dir.name)
  let pkg
  try {
    pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'))
  } catch {
    continue
  }
  if (pkg.private) continue
  const exports = pkg.publishConfig?.exports ?? pkg.exports
  if (exports === undefined) continue
  for (const [subpath, entry] of Object.entries(typeof exports === 'string' ? { '.': exports } : exports)) {
    const file = target(entry)
    if (file === null || !file.endsWith('.js')) continue
    rows.push(await measure(pkgDir, pkg, subpath, file))
  }
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
let budgets = {}
try {
  budgets = JSON.parse(await readFile(budgetFile, 'utf8'))
} catch {
  if (!write) {
    console.error(`check-size: no budget file at ${budgetFile}; run node scripts/check-size.mjs --write`)
    process.exit(1)
  }
}

let failed = 0
console.log('entry'.padEnd(36), 'minified'.padStart(11), 'gzip'.padStart(10), 'brotli'.padStart(10), 'budget'.padStart(10))
for (const r of rows) {
  const budget = budgets[r.name]
  let verdict = ''
  if (!write && budget === undefined) {
    verdict = '  no budget: add one to scripts/size-budget.json'
    failed++
  } else if (!write && r.brotli > budget) {
    verdict = `  OVER by ${r.brotli - budget} B`
    failed++
  }
  console.log(r.name.padEnd(36), kib(r.min).padStart(11), kib(r.gzip).padStart(10), kib(r.brotli).padStart(10), (budget === undefined ? '-' : kib(budget)).padStart(10) + verdict)
}

if (write) {
  const next = Object.fromEntries(rows.map((r) => [r.name, Math.ceil((r.brotli * 1.1) / 64) * 64]))
  await writeFile(budgetFile, JSON.stringify(next, null, 2) + '\n')
  console.log(`check-size: wrote ${rows.length} budgets (brotli bytes, current + 10 %) to scripts/size-budget.json`)
} else if (failed > 0) {
  console.error(`check-size: ${failed} entr${failed === 1 ? 'y is' : 'ies are'} over or without a budget. If the growth is deliberate, raise the budget in scripts/size-budget.json in the same commit and say why.`)
  process.exit(1)
} else {
  console.log(`check-size: ${rows.length} entries within budget`)
}
