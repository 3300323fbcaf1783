// The demo server's Host and Origin checks (demo/server/hosts.ts), replaying a DNS-rebinding page
// and a cross-site page against the real server. Node only, no browser: a rebinding page's requests
// differ from the demo's own only in their Host (and Origin) header, which node:http lets us set.
// The store is never contacted: signPut presigns locally.
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Demo, startDemo } from '../../demo/server.js'

const store = { endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'b', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret', label: 'none' }

interface Reply {
  readonly status: number
  readonly code: unknown
}

/** Sends one request to the demo's socket with exactly this Host (and Origin), as a browser would. */
function send(port: number, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, setHost: 'host' in headers, method: body === undefined ? 'GET' : 'POST', headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        let code: unknown
        try {
          const parsed: unknown = JSON.parse(text)
          code = typeof parsed === 'object' && parsed !== null && 'error' in parsed && typeof parsed.error === 'object' && parsed.error !== null && 'code' in parsed.error ? parsed.error.code : undefined
        } catch {
          code = undefined
        }
        resolve({ status: res.statusCode ?? 0, code })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('the demo answers only to its own names (DNS rebinding)', () => {
  let demo: Demo
  let port = 0
  beforeAll(async () => {
    demo = await startDemo({ store, port: 0, watch: false, allowedHosts: 'demo.internal, [fd00::1]:8443' })
    port = Number(new URL(demo.url).port)
  })
  afterAll(async () => {
    await demo?.close()
  })
  const signPut = JSON.stringify({ key: 'demo/x', metadata: {} })

  it.for(['localhost', '127.0.0.1', '[::1]', 'demo.internal', 'LOCALHOST'])('Host %s on its port is served', async (name) => {
    expect(await send(port, '/api/config', { host: `${name}:${port}` })).toMatchObject({ status: 200 })
    expect(await send(port, '/api/s3/signPut', { host: `${name}:${port}` }, signPut)).toMatchObject({ status: 200 })
  })

  it('an extra name with its own port is served on that Host only', async () => {
    expect(await send(port, '/api/config', { host: '[fd00::1]:8443' })).toMatchObject({ status: 200 })
    expect(await send(port, '/api/config', { host: `[fd00::1]:${port}` })).toMatchObject({ status: 403, code: 'FORBIDDEN_HOST' })
  })

  it.for([
    ['a rebinding name on the right port', (p: number) => `evil.example:${p}`],
    ['localhost on another port', (p: number) => `localhost:${p + 1}`],
    ['localhost without a port', () => 'localhost'],
    ['a subdomain of localhost', (p: number) => `evil.localhost:${p}`],
  ] as const)('Host of %s is refused, on the presigner and the page alike', async ([, hostOf]) => {
    const host = hostOf(port)
    expect(await send(port, '/api/s3/signPut', { host }, signPut)).toEqual({ status: 403, code: 'FORBIDDEN_HOST' })
    expect(await send(port, '/api/config', { host })).toEqual({ status: 403, code: 'FORBIDDEN_HOST' })
    expect(await send(port, '/', { host })).toEqual({ status: 403, code: 'FORBIDDEN_HOST' })
  })

  it('a request without Host is not served', async () => {
    // Node's HTTP/1.1 parser answers 400 before the demo sees it; the demo would answer 403.
    expect((await send(port, '/api/config', {})).status).toBeGreaterThanOrEqual(400)
  })

  it.for(['http://evil.example', `http://localhost:1`, 'null', 'file://', 'https://localhost'])('Origin %s on /api/ is refused, whatever the Host', async (origin) => {
    expect(await send(port, '/api/s3/signPut', { host: `localhost:${port}`, origin }, signPut)).toEqual({ status: 403, code: 'FORBIDDEN_ORIGIN' })
  })

  it("the page's own Origin is served", async () => {
    expect(await send(port, '/api/s3/signPut', { host: `localhost:${port}`, origin: `http://localhost:${port}` }, signPut)).toMatchObject({ status: 200 })
    expect(await send(port, '/api/config', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).toMatchObject({ status: 200 })
  })

  it('refuses to start with a malformed DEMO_ALLOWED_HOSTS', async () => {
    await expect(startDemo({ store, port: 0, watch: false, allowedHosts: 'http://evil.example/' })).rejects.toThrow(/DEMO_ALLOWED_HOSTS/)
  })
})
