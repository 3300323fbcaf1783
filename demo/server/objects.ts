/**
 * `GET /api/objects`: the demo's objects with their sizes, the `client-side-encryption-*` user
 * metadata (the header mirror of docs/FORMAT.md §7) and the store's encryption at rest, for the
 * Objects screen. The store holds only ciphertext under opaque keys: real names are sealed inside
 * each object, and the page decrypts them.
 */
import { type ObjectEncryption, isServerError } from '@bucketseal/server'
import type { S3Client } from '@bucketseal/server/s3'

/** One object as the page gets it. */
export interface ListedObject {
  readonly key: string
  /** Bytes on the store (ciphertext, header included). */
  readonly size: number
  readonly lastModified: string
  /** `client-side-encryption-*` metadata, names without the provider prefix. */
  readonly metadata: Readonly<Record<string, string>>
  /** Server-side encryption as the store reports it (docs/SSE.md); `null` when it reports none. */
  readonly serverSideEncryption: ObjectEncryption | null
}

/** The most objects listed: a demo bucket, not an archive. */
export const MAX_LISTED = 200
/** HEAD requests in flight at once. */
const HEAD_CONCURRENCY = 8
const MIRROR_PREFIX = 'client-side-encryption-'

type Listed = Omit<ListedObject, 'metadata' | 'serverSideEncryption'>

async function listKeys(s3: S3Client, prefix: string): Promise<{ objects: Listed[]; truncated: boolean }> {
  const objects: Listed[] = []
  let token: string | undefined
  do {
    const page = await s3.listObjectsV2({ prefix, ...(token === undefined ? {} : { continuationToken: token }) })
    objects.push(...page.objects.map(({ key, size, lastModified }) => ({ key, size, lastModified })))
    token = page.nextContinuationToken
  } while (token !== undefined && objects.length < MAX_LISTED)
  objects.sort((a, b) => b.lastModified.localeCompare(a.lastModified) || a.key.localeCompare(b.key))
  return { objects: objects.slice(0, MAX_LISTED), truncated: token !== undefined || objects.length > MAX_LISTED }
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  const queue = items.entries() // shared: each lane takes the next item
  const lane = async (): Promise<void> => {
    for (const [i, item] of queue) out[i] = await work(item)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane))
  return out
}

/**
 * The `/api/objects` handler, fetch-style: lists `prefix` and reads each object's metadata and
 * encryption at rest with HEAD (listings carry neither).
 * @example const route = objectsRoute(new S3Client(options), 'demo/')
 */
export function objectsRoute(s3: S3Client, prefix: string): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET') return Response.json({ error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only.' } }, { status: 405 })
    let found: Awaited<ReturnType<typeof listKeys>>
    try {
      found = await listKeys(s3, prefix)
    } catch (error) {
      // The store's own words (no credentials in them) tell the person what to fix.
      const message = isServerError(error) ? error.message : 'The store could not be listed.'
      return Response.json({ error: { code: 'LIST_FAILED', message } }, { status: 502 })
    }
    const { objects, truncated } = found
    const listed = await mapLimited(objects, HEAD_CONCURRENCY, async (object): Promise<ListedObject | null> => {
      // An object deleted between the listing and the HEAD is simply left out.
      const head = await s3.headObject(object.key).catch(() => null)
      if (head === null) return null
      const metadata = Object.fromEntries(Object.entries(head.metadata).filter(([name]) => name.startsWith(MIRROR_PREFIX)))
      return { ...object, metadata, serverSideEncryption: head.serverSideEncryption ?? null }
    })
    const body = { objects: listed.filter((o): o is ListedObject => o !== null), truncated }
    return Response.json(body, { headers: { 'cache-control': 'no-store' } })
  }
}
