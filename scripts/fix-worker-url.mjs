// The uploader's Worker is loaded with `new URL('./worker.ts', import.meta.url)`, which bundlers and
// Vite resolve from the TypeScript source; tsc copies that string as is. The built package must
// point at the emitted `worker.js`.
import { readFile, writeFile } from 'node:fs/promises'

const file = process.argv[2]
if (!file) throw new Error('usage: node fix-worker-url.mjs <dist/pool.js>')
const text = await readFile(file, 'utf8')
const fixed = text.replaceAll("new URL('./worker.ts', import.meta.url)", "new URL('./worker.js', import.meta.url)")
if (fixed === text) throw new Error(`${file}: the Worker URL was not found; update scripts/fix-worker-url.mjs`)
await writeFile(file, fixed)
