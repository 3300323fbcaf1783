/**
 * Where a bucket's objects live: the URL of an object on any S3-compatible endpoint, path-style
 * (`https://host/bucket/key`) or virtual-host style (`https://bucket.host/key`).
 */
import { InvalidInputError } from './errors.js'
import { isLoopback, parseHttpUrl, uriEncode } from './uri.js'

/** How to reach a bucket. */
export interface BucketLocation {
  /** The endpoint's base URL, such as `https://s3.us-east-1.amazonaws.com` or `http://127.0.0.1:7480`. */
  readonly endpoint: string | URL
  readonly bucket: string
  /**
   * `https://host/bucket/key` instead of `https://bucket.host/key`. Default: `true` for every
   * endpoint but AWS's own (`*.amazonaws.com`), as most S3-compatible stores want it.
   */
  readonly forcePathStyle?: boolean
  /**
   * Allow a plain `http:` endpoint that is not on loopback. Presigned URLs then travel, and are
   * used, unencrypted. Loopback (`localhost`, `127.0.0.0/8`, `[::1]`) is always allowed.
   */
  readonly dangerouslyAllowHttp?: boolean
}

/** Query parameters of an S3 request; an empty string gives a bare `name=` (`uploads=`). */
export type Query = Readonly<Record<string, string>>

/** A bucket's resolved addresses. */
export interface Bucket {
  readonly name: string
  /** The URL of an object. `key` is used as-is: validate it first. */
  objectUrl(key: string, query?: Query): URL
  /** The URL of the bucket itself (for bucket-level requests such as `?cors` or `?list-type=2`). */
  bucketUrl(query?: Query): URL
}

/**
 * Resolves a {@link BucketLocation} into URL builders.
 *
 * @throws {InvalidInputError} a malformed endpoint, a non-loopback `http:` endpoint without
 *   `dangerouslyAllowHttp`, or a bucket name that the addressing style cannot carry.
 * @example
 * const bucket = resolveBucket({ endpoint: 'http://127.0.0.1:7480', bucket: 'photos' })
 * bucket.objectUrl('2024/a b.jpg').href // 'http://127.0.0.1:7480/photos/2024/a%20b.jpg'
 */
export function resolveBucket(location: BucketLocation): Bucket {
  const base = parseHttpUrl(location.endpoint, 'endpoint')
  if (base.search !== '') throw new InvalidInputError('endpoint must not have a query.')
  if (base.protocol === 'http:' && !isLoopback(base.hostname) && location.dangerouslyAllowHttp !== true) {
    throw new InvalidInputError(
      `endpoint ${base.origin} is plain http and not on loopback: use https, or set dangerouslyAllowHttp if the link really is private.`,
    )
  }
  const bucket = location.bucket
  const pathStyle = location.forcePathStyle ?? !/(^|\.)amazonaws\.com(\.cn)?$/.test(base.hostname)
  // Virtual-host style puts the bucket in a DNS name; path style only needs it to be one URL segment.
  const valid = pathStyle ? /^[A-Za-z0-9._-]{1,255}$/ : /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/
  if (typeof bucket !== 'string' || !valid.test(bucket) || bucket === '.' || bucket === '..') {
    throw new InvalidInputError(
      `bucket ${JSON.stringify(bucket)} is not a valid bucket name${pathStyle ? '' : ' for virtual-host style (lowercase letters, digits, dots and dashes, 3 to 63 long)'}.`,
    )
  }
  // An endpoint may sit under a path (a gateway at https://host/s3); keep it, without a trailing slash.
  const prefix = base.pathname.replace(/\/+$/, '')
  const origin = pathStyle ? base.origin : `${base.protocol}//${bucket}.${base.host}`
  const bucketPath = pathStyle ? `${prefix}/${uriEncode(bucket)}` : prefix

  const build = (path: string, query: Query | undefined): URL => {
    const url = new URL(origin)
    url.pathname = path
    url.search = Object.entries(query ?? {})
      .map(([name, value]) => `${uriEncode(name)}=${uriEncode(value)}`)
      .join('&')
    return url
  }
  return {
    name: bucket,
    objectUrl: (key, query) => build(`${bucketPath}/${uriEncode(key, true)}`, query),
    bucketUrl: (query) => build(pathStyle ? bucketPath : `${prefix}/`, query),
  }
}
