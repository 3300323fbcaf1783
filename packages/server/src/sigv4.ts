/**
 * AWS Signature Version 4 on WebCrypto (HMAC-SHA-256 and SHA-256 from `crypto.subtle`), so it runs in
 * Node 20+, Workers and serverless functions without the AWS SDK. Two forms: {@link presignUrl}
 * (query-string auth, for URLs handed to a browser) and {@link signRequest} (the `Authorization`
 * header, for requests the server sends itself).
 *
 * S3 flavour throughout: the path is encoded once (never normalized, never double-encoded), and
 * presigned URLs carry `UNSIGNED-PAYLOAD` and no checksum parameters, so the browser can PUT any
 * body without the server seeing it.
 */
import { InvalidInputError } from './errors.js'
import { parseHttpUrl, uriEncode } from './uri.js'

/** Storage credentials. Held by the server only; never sent to a browser, logged or echoed. */
export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** For temporary credentials (AWS STS): signed into every request as `X-Amz-Security-Token`. */
  readonly sessionToken?: string
}

/** Who signs, and for which region and service. */
export interface SigningScope {
  readonly credentials: Credentials
  /** The region of the endpoint (`us-east-1`, `auto` for R2, the zone group for RGW, …). */
  readonly region: string
  /** Default `s3`. */
  readonly service?: string
  /** The signing time; default now. Tests pin it. */
  readonly date?: Date
}

/** What {@link presignUrl} signs. */
export interface PresignOptions extends SigningScope {
  readonly method: string
  /** The full request URL, with any query parameters (`uploadId`, `partNumber`, …) but no auth ones. */
  readonly url: string | URL
  /** Seconds the URL stays valid: an integer from 1 to 604800 (7 days, SigV4's limit). */
  readonly expiresIn: number
  /**
   * Headers the client must send with exactly these values (`content-type`, `x-amz-meta-*`, `range`).
   * `host` is always signed and must not be given.
   */
  readonly headers?: Readonly<Record<string, string>>
}

/** What {@link signRequest} signs. */
export interface SignRequestOptions extends SigningScope {
  readonly method: string
  readonly url: string | URL
  /** Headers to send and sign besides `host`, `x-amz-date` and `x-amz-content-sha256`. */
  readonly headers?: Readonly<Record<string, string>>
  /** The body; its SHA-256 is signed. Omitted means an empty body. */
  readonly body?: string | Uint8Array<ArrayBuffer>
}

/** A request ready to send: use this `url` (its encoding is the one signed) and these `headers`. */
export interface SignedRequest {
  readonly url: string
  /** Lowercase names: the given headers plus `authorization`, `x-amz-date`, `x-amz-content-sha256`. */
  readonly headers: Record<string, string>
}

/** SigV4's longest validity for a presigned URL: 7 days. */
export const MAX_PRESIGN_EXPIRES = 604_800

const ALGORITHM = 'AWS4-HMAC-SHA256'
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
const encoder = new TextEncoder()

/**
 * Presigns a request with query-string authentication (`X-Amz-Algorithm` … `X-Amz-Signature`).
 * The payload is `UNSIGNED-PAYLOAD` and no checksum parameter is added, so a browser can PUT a body
 * the server never saw with a plain `fetch`.
 *
 * @returns the URL to hand out. Its path and query are re-encoded the way they were signed.
 * @throws {InvalidInputError} a malformed URL, method, region, credential or header, or
 *   `expiresIn` outside 1..604800.
 * @example
 * const url = await presignUrl({
 *   method: 'GET', url: 'https://examplebucket.s3.amazonaws.com/test.txt', expiresIn: 86400,
 *   region: 'us-east-1', credentials: { accessKeyId: 'AKIA…', secretAccessKey: '…' },
 * })
 */
export async function presignUrl(options: PresignOptions): Promise<string> {
  const expiresIn = options.expiresIn
  if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_EXPIRES) {
    throw new InvalidInputError(`expiresIn must be an integer from 1 to ${MAX_PRESIGN_EXPIRES} seconds, got ${String(expiresIn)}.`)
  }
  const { url, query, headers, amzDate, scope } = prepare(options)
  const signedHeaders = Object.keys(headers).sort().join(';')
  query.push(
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${options.credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', amzDate],
    ['X-Amz-Expires', String(expiresIn)],
    ['X-Amz-SignedHeaders', signedHeaders],
  )
  // A presigned URL carries the session token in its query, where it is signed like the rest.
  if (options.credentials.sessionToken !== undefined) query.push(['X-Amz-Security-Token', options.credentials.sessionToken])
  const canonicalQuery = canonicalQueryString(query)
  const signature = await sign(options, scope, amzDate, options.method, url.pathname, canonicalQuery, headers, UNSIGNED_PAYLOAD)
  url.search = `${canonicalQuery}&X-Amz-Signature=${signature}`
  return url.toString()
}

/**
 * Signs a request with the `Authorization` header. The body's SHA-256 is signed too
 * (`x-amz-content-sha256`), so the store rejects a body changed on the way.
 *
 * @throws {InvalidInputError} a malformed URL, method, region, credential or header.
 * @example
 * const { url, headers } = await signRequest({ method: 'HEAD', url: 'http://127.0.0.1:7480/bucket/key', region, credentials })
 * const response = await fetch(url, { method: 'HEAD', headers })
 */
export async function signRequest(options: SignRequestOptions): Promise<SignedRequest> {
  const { url, query, headers, amzDate, scope } = prepare(options)
  const body = options.body ?? ''
  const payloadHash = toHex(await sha256(typeof body === 'string' ? encoder.encode(body) : body))
  headers['x-amz-content-sha256'] = payloadHash
  headers['x-amz-date'] = amzDate
  if (options.credentials.sessionToken !== undefined) headers['x-amz-security-token'] = options.credentials.sessionToken
  const canonicalQuery = canonicalQueryString(query)
  const signature = await sign(options, scope, amzDate, options.method, url.pathname, canonicalQuery, headers, payloadHash)
  url.search = canonicalQuery
  const signedHeaders = Object.keys(headers).sort().join(';')
  const out: Record<string, string> = {}
  // `host` is signed but not returned: fetch derives it from the URL, and browsers forbid setting it.
  for (const [name, value] of Object.entries(headers)) if (name !== 'host') out[name] = value
  out['authorization'] = `${ALGORITHM} Credential=${options.credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`
  return { url: url.toString(), headers: out }
}

interface Prepared {
  url: URL
  query: [string, string][]
  headers: Record<string, string>
  amzDate: string
  scope: string
}

function prepare(options: SigningScope & { method: string; url: string | URL; headers?: Readonly<Record<string, string>> }): Prepared {
  checkScope(options)
  if (typeof options.method !== 'string' || !/^[A-Z]+$/.test(options.method)) {
    throw new InvalidInputError(`method must be an uppercase HTTP method such as "PUT", got ${JSON.stringify(options.method)}.`)
  }
  const url = parseHttpUrl(options.url, 'url')
  url.pathname = canonicalPath(url.pathname)
  const query: [string, string][] = []
  for (const [name, value] of url.searchParams) {
    if (/^x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token)$/i.test(name)) {
      throw new InvalidInputError(`url already carries the auth parameter ${name}; sign the bare URL.`)
    }
    query.push([name, value])
  }
  const headers: Record<string, string> = { host: url.host }
  for (const [rawName, value] of Object.entries(options.headers ?? {})) {
    const name = rawName.toLowerCase()
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new InvalidInputError(`Header name ${JSON.stringify(rawName)} is not a valid HTTP token.`)
    if (name === 'host' || name === 'authorization' || name in headers) {
      throw new InvalidInputError(`Header ${name} must not be given (or given twice): it is set by the signer or duplicates another.`)
    }
    if (typeof value !== 'string' || !/^[\t\x20-\x7e]*$/.test(value)) {
      throw new InvalidInputError(`Header ${name} must be a string of printable ASCII.`)
    }
    headers[name] = value
  }
  const date = options.date ?? new Date()
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new InvalidInputError('date must be a valid Date.')
  const amzDate = date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const scope = `${amzDate.slice(0, 8)}/${options.region}/${options.service ?? 's3'}/aws4_request`
  return { url, query, headers, amzDate, scope }
}

/**
 * Checks credentials, region and service without signing anything.
 *
 * @throws {InvalidInputError} naming the bad field.
 * @example
 * checkScope({ region: 'us-east-1', credentials: { accessKeyId: 'AKIA…', secretAccessKey: '…' } })
 */
export function checkScope(scope: SigningScope): void {
  const { credentials, region, service } = scope
  if (typeof credentials !== 'object' || credentials === null) throw new InvalidInputError('credentials must be { accessKeyId, secretAccessKey }.')
  // A '/' in the key id would shift the fields of the credential scope.
  if (typeof credentials.accessKeyId !== 'string' || !/^[\x21-\x2e\x30-\x7e]+$/.test(credentials.accessKeyId)) {
    throw new InvalidInputError('credentials.accessKeyId must be a non-empty string of printable ASCII without "/".')
  }
  if (typeof credentials.secretAccessKey !== 'string' || credentials.secretAccessKey.length === 0) {
    throw new InvalidInputError('credentials.secretAccessKey must be a non-empty string.')
  }
  if (credentials.sessionToken !== undefined && (typeof credentials.sessionToken !== 'string' || credentials.sessionToken.length === 0)) {
    throw new InvalidInputError('credentials.sessionToken, when given, must be a non-empty string.')
  }
  if (typeof region !== 'string' || !/^[A-Za-z0-9_-]+$/.test(region)) {
    throw new InvalidInputError(`region must be a region name such as "us-east-1", got ${JSON.stringify(region)}.`)
  }
  if (service !== undefined && (typeof service !== 'string' || !/^[a-z0-9-]+$/.test(service))) {
    throw new InvalidInputError('service must be a lowercase service name such as "s3".')
  }
}

/** Decodes each path segment and encodes it S3's way, so what is sent is exactly what is signed. */
function canonicalPath(pathname: string): string {
  try {
    return pathname
      .split('/')
      .map((segment) => uriEncode(decodeURIComponent(segment)))
      .join('/')
  } catch (error) {
    if (error instanceof InvalidInputError) throw error
    throw new InvalidInputError('url has a malformed percent-encoding in its path.')
  }
}

function canonicalQueryString(query: readonly (readonly [string, string])[]): string {
  return query
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

async function sign(
  options: SigningScope,
  scope: string,
  amzDate: string,
  method: string,
  path: string,
  canonicalQuery: string,
  headers: Readonly<Record<string, string>>,
  payloadHash: string,
): Promise<string> {
  const names = Object.keys(headers).sort()
  // Canonical header values are trimmed with inner runs of spaces collapsed, on both sides.
  const canonicalHeaders = names.map((name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('')
  const canonicalRequest = [method, path, canonicalQuery, canonicalHeaders, names.join(';'), payloadHash].join('\n')
  const stringToSign = [ALGORITHM, amzDate, scope, toHex(await sha256(encoder.encode(canonicalRequest)))].join('\n')
  const [day = '', region = '', service = ''] = scope.split('/')
  let key = await hmac(encoder.encode(`AWS4${options.credentials.secretAccessKey}`), day)
  for (const part of [region, service, 'aws4_request']) key = await hmac(key, part)
  return toHex(await hmac(key, stringToSign))
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data))
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, encoder.encode(data)))
}

function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}
