// Creates the test bucket on a freshly started RGW and gives it the CORS rules a browser uploader
// needs. Called by scripts/rgw.sh with the S3_* variables in the environment.
//
// Plain Node (no TypeScript, no dependencies: it runs before anything is built) with its own SigV4
// on node:crypto, written separately from packages/server/src/sigv4.ts so that a bug there cannot
// also hide here.
import { createHash, createHmac } from 'node:crypto'

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`bucket.mjs: ${name} is not set`)
  return value
}
const endpoint = new URL(env('S3_ENDPOINT'))
const region = env('S3_REGION')
const accessKeyId = env('S3_ACCESS_KEY_ID')
const secret = env('S3_SECRET_ACCESS_KEY')
const bucket = env('S3_BUCKET')
const deadline = Date.now() + Number(process.env.BUCKETSEAL_RGW_WAIT_MS ?? 60_000)

const sha256 = (data) => createHash('sha256').update(data).digest('hex')
const hmac = (key, data) => createHmac('sha256', key).update(data).digest()

/** Sends a path-style request signed with the Authorization header (query values are plain words). */
async function s3(method, query, body = '', extra = {}) {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '')
  const day = amzDate.slice(0, 8)
  const headers = { host: endpoint.host, 'x-amz-content-sha256': sha256(body), 'x-amz-date': amzDate, ...extra }
  const names = Object.keys(headers).sort()
  const path = `/${bucket}`
  const request = [method, path, query, names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), headers['x-amz-content-sha256']]
  const scope = `${day}/${region}/s3/aws4_request`
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(request.join('\n'))}`
  const key = ['s3', 'aws4_request'].reduce(hmac, hmac(hmac(`AWS4${secret}`, day), region))
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  delete headers.host
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`
  const url = `${endpoint.origin}${path}${query ? `?${query}` : ''}`
  const response = await fetch(url, { method, headers, body: body === '' ? undefined : body })
  return { status: response.status, text: await response.text() }
}

// RGW answers a few hundred milliseconds after its port opens; until then, retry.
for (;;) {
  try {
    const response = await fetch(`${endpoint.origin}/`)
    await response.arrayBuffer()
    break
  } catch (error) {
    if (Date.now() > deadline) throw new Error(`RGW at ${endpoint.origin} did not answer: ${error}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const created = await s3('PUT', '')
if (created.status !== 200 && !created.text.includes('BucketAlreadyOwnedByYou')) {
  throw new Error(`creating bucket ${bucket} failed: HTTP ${created.status} ${created.text}`)
}

const origins = ['http://localhost', 'http://localhost:*', 'http://127.0.0.1', 'http://127.0.0.1:*', 'https://localhost:*']
const cors =
  '<CORSConfiguration><CORSRule>' +
  origins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`).join('') +
  ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('') +
  '<AllowedHeader>*</AllowedHeader>' +
  // ETag: multipart completion needs each part's; Content-Range: a ranged reader learns the size.
  '<ExposeHeader>ETag</ExposeHeader><ExposeHeader>Content-Range</ExposeHeader><ExposeHeader>Content-Length</ExposeHeader>' +
  '<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>'
const md5 = createHash('md5').update(cors).digest('base64')
const corsSet = await s3('PUT', 'cors=', cors, { 'content-md5': md5, 'content-type': 'application/xml' })
if (corsSet.status !== 200) throw new Error(`setting CORS on ${bucket} failed: HTTP ${corsSet.status} ${corsSet.text}`)

// Check as a browser would: a preflight for a part PUT from a dev server's origin.
const preflight = await fetch(`${endpoint.origin}/${bucket}/probe`, {
  method: 'OPTIONS',
  headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
})
await preflight.arrayBuffer()
if (!/etag/i.test(preflight.headers.get('access-control-expose-headers') ?? '')) {
  throw new Error(`the CORS preflight on ${bucket} does not expose ETag (HTTP ${preflight.status})`)
}
