/**
 * Which Host and Origin the demo answers: its own loopback names only, so a page elsewhere cannot
 * reach the presigner on 127.0.0.1 by DNS rebinding (its name re-pointed at 127.0.0.1: the browser
 * then sends `Host: evil.example:5173`) or by a cross-site request (`Origin: https://evil.example`).
 * The demo has no login, so these are all that keeps other sites' pages off its presigner.
 */

/** Host names the demo always answers to, on its own port. */
const LOOPBACK = ['localhost', '127.0.0.1', '[::1]']

/**
 * The `host:port` values (lowercase) a request may name in its Host header: the loopback names on
 * `port`, the address the server listens on (when it is one host, not `0.0.0.0` or `::`), and
 * `extra` (`DEMO_ALLOWED_HOSTS`, comma-separated `name` or `name:port`; a bare name means this port).
 *
 * @throws {Error} an entry of `extra` that is not a host name, IPv4 address or bracketed IPv6 address,
 *   with an optional port.
 * @example
 * allowedHosts(5173, '127.0.0.1', 'demo.internal') // Set { 'localhost:5173', '127.0.0.1:5173', '[::1]:5173', 'demo.internal:5173' }
 */
export function allowedHosts(port: number, listenHost: string, extra = ''): ReadonlySet<string> {
  const names = [...LOOPBACK]
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') names.push(listenHost.includes(':') && !listenHost.startsWith('[') ? `[${listenHost}]` : listenHost)
  const out = new Set(names.map((name) => `${name.toLowerCase()}:${port}`))
  for (const raw of extra.split(',')) {
    const entry = raw.trim().toLowerCase()
    if (entry === '') continue
    const match = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/.exec(entry)
    if (match === null) throw new Error(`DEMO_ALLOWED_HOSTS: ${JSON.stringify(raw)} is not a host name or address with an optional port.`)
    out.add(`${match[1]}:${match[2] ?? port}`)
  }
  return out
}

/** Why a request is refused, or `null` to serve it. */
export type HostRefusal = { readonly status: 403; readonly code: 'FORBIDDEN_HOST' | 'FORBIDDEN_ORIGIN'; readonly message: string }

/**
 * Checks a request's Host (every request: the page too, which a rebinding page could otherwise
 * read) and, on `/api/*`, its Origin when there is one. A same-origin GET carries no Origin, and
 * neither do scripts and tests calling the API directly; those are told apart from other sites by
 * Host alone. The port is part of both checks: another local app on another port is another origin.
 *
 * @example
 * checkRequest(allowed, { host: 'evil.example:5173', origin: undefined, path: '/api/s3/signPut' }) // { status: 403, code: 'FORBIDDEN_HOST', … }
 */
export function checkRequest(allowed: ReadonlySet<string>, request: { readonly host: string | undefined; readonly origin: string | undefined; readonly path: string }): HostRefusal | null {
  const host = (request.host ?? '').toLowerCase()
  if (!allowed.has(host)) {
    return { status: 403, code: 'FORBIDDEN_HOST', message: `This server answers only to ${[...allowed].join(', ')}; the request was for ${JSON.stringify(request.host ?? '')}. Set DEMO_ALLOWED_HOSTS to add a name.` }
  }
  if (!request.path.startsWith('/api/') || request.origin === undefined) return null
  let origin: URL | null = null
  try {
    origin = new URL(request.origin)
  } catch {
    origin = null
  }
  // `null` (a sandboxed frame, a file: page) and anything not http(s) on an allowed host are other sites.
  const ok = origin !== null && (origin.protocol === 'http:' || origin.protocol === 'https:') && origin.pathname === '/' && allowed.has(`${origin.hostname}:${origin.port || (origin.protocol === 'https:' ? '443' : '80')}`)
  return ok ? null : { status: 403, code: 'FORBIDDEN_ORIGIN', message: `Requests to /api/ from ${request.origin} are refused: only pages of this server may call it.` }
}
