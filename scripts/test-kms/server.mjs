#!/usr/bin/env node
// The local test KMS: a separate Node process that holds master keys and speaks the KMS protocol of
// @bucketseal/server (createKmsHandler over localKmsAdapter). An app backend reaches it with
// httpKmsAdapter(url); the keys never leave this process. For development and tests only.
//
//   node scripts/test-kms/server.mjs [--port 0] [--host 127.0.0.1] [--exit-with-stdin]
//
// Environment:
//   BUCKETSEAL_TEST_KMS_KEYS   JSON {"<key name>": "<base64 of 32 bytes>", …}; default: one random
//                              key named "test-key" (then nobody, this process included, can print it)
//   BUCKETSEAL_TEST_KMS_TOKEN  when set, every request needs "Authorization: Bearer <token>"
//
// Once listening it prints one JSON line on stdout: {"url":"http://127.0.0.1:<port>/api/kms","keys":[…]}.
// Audit log: one JSON line per request on stderr (time, action, key name, context, status), as a
// real KMS would log it.
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { runnerImport } from 'vite'

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
})

// The server package is TypeScript source; Vite's module runner loads it as the tests do.
const root = fileURLToPath(new URL('../..', import.meta.url))
const { module: server } = await runnerImport(fileURLToPath(new URL('../../packages/server/src/index.ts', import.meta.url)), {
  root,
  configFile: false,
  logLevel: 'silent',
})

function loadKeys() {
  const text = process.env.BUCKETSEAL_TEST_KMS_KEYS
  if (text === undefined || text === '') return { 'test-key': crypto.getRandomValues(new Uint8Array(32)) }
  const parsed = JSON.parse(text)
  return Object.fromEntries(Object.entries(parsed).map(([name, b64]) => [name, Uint8Array.from(Buffer.from(String(b64), 'base64'))]))
}

const keys = loadKeys()
const names = Object.keys(keys)
const adapter = server.localKmsAdapter(keys)
for (const bytes of Object.values(keys)) bytes.fill(0)

const token = process.env.BUCKETSEAL_TEST_KMS_TOKEN
const audit = new WeakMap()
const handler = server.createKmsHandler({
  adapter,
  authorize: ({ request, action, keyName, context }) => {
    const allowed = token === undefined || token === '' || request.headers.get('authorization') === `Bearer ${token}`
    audit.set(request, { action, keyName, context, allowed })
    return allowed
  },
})

const listener = server.toNodeListener(async (request) => {
  const response = await handler(request)
  const entry = audit.get(request) ?? { path: new URL(request.url).pathname }
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry, status: response.status })}\n`)
  return response
})

const http = createServer(listener)
http.listen(Number(args.port), args.host, () => {
  const address = http.address()
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  process.stdout.write(`${JSON.stringify({ url: `http://${host}:${address.port}/api/kms`, keys: names })}\n`)
})

const stop = () => http.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
if (args['exit-with-stdin']) {
  // Dies with its parent: a test runner that crashes closes our stdin.
  process.stdin.on('end', stop)
  process.stdin.resume()
}
