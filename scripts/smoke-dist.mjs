// Packs the packages as they would be published (pnpm pack applies publishConfig: exports point at
// the built dist/), installs the tarballs into an empty project with npm, and uses them from plain
// Node, as an app's backend would: encrypt and decrypt with @bucketseal/core, answer a request with
// @bucketseal/server's handler; and install @bucketseal/uppy in an Uppy (its peer, from npm). Run by
// scripts/test.sh after the build.
import { execFileSync } from 'node:child_process'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const pnpm = process.env.PNPM ?? 'pnpm'
const dir = await mkdtemp(join(tmpdir(), 'bucketseal-dist-'))
try {
  for (const pkg of ['core', 'server', 'keys', 'client', 'uppy']) {
    execFileSync(pnpm, ['pack', '--pack-destination', dir], { cwd: join(root, 'packages', pkg), stdio: ['ignore', 'ignore', 'inherit'] })
  }
  const tarballs = (await readdir(dir)).filter((f) => f.endsWith('.tgz')).map((f) => join(dir, f))
  if (tarballs.length !== 5) throw new Error(`expected 5 tarballs, got ${tarballs.length}`)
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'smoke', private: true, type: 'module' }))
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, '@uppy/core@^6.0.0'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] })
  await writeFile(
    join(dir, 'smoke.mjs'),
    `import { encrypt, decrypt, generateAesKwKey } from '@bucketseal/core'
import { createPresignHandler } from '@bucketseal/server'
import * as keys from '@bucketseal/keys'
import * as upload from '@bucketseal/client'
import { Bucketseal } from '@bucketseal/uppy'
import Uppy from '@uppy/core'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
const kek = await generateAesKwKey()
const data = new TextEncoder().encode('hello from the published packages')
const back = new TextDecoder().decode(await decrypt(await encrypt(data, { recipients: [kek] }), kek))
if (back !== 'hello from the published packages') throw new Error('round trip failed')
const handler = createPresignHandler({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', bucket: 'b', credentials: { accessKeyId: 'a', secretAccessKey: 's' }, authorize: () => false })
const res = await handler(new Request('http://x/api/s3/signGet', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"k"}' }))
if (res.status !== 403) throw new Error('handler answered ' + res.status)
if (typeof keys.KeyStore !== 'function' || typeof upload.upload !== 'function') throw new Error('missing exports')
// The Uppy plugin installs as an uploader (nothing is uploaded: no Workers or IndexedDB in Node).
const uppy = new Uppy().use(Bucketseal, { signer: upload.httpSigner('/api/s3'), recipients: [kek] })
if (uppy.getPlugin('Bucketseal')?.type !== 'uploader' || uppy.getState().capabilities.resumableUploads !== true) throw new Error('@bucketseal/uppy did not install')
uppy.destroy()
// The download Service Worker ships as a subpath of its own: a classic script (no import or export).
const sw = readFileSync(fileURLToPath(import.meta.resolve('@bucketseal/client/download-worker')), 'utf8')
if (!sw.includes('bucketseal-download/1') || /^\s*(import|export)\b/m.test(sw)) throw new Error('@bucketseal/client/download-worker is missing or not a classic script')
console.log('published packages: ok')
`,
  )
  execFileSync('node', ['smoke.mjs'], { cwd: dir, stdio: 'inherit' })
} finally {
  await rm(dir, { recursive: true, force: true })
}
