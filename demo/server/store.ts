/**
 * Which S3-compatible store the demo talks to: read from the environment, with a name for people.
 * The credentials stay in this process; the browser only ever sees the label and the bucket name.
 */
import type { ServerSideEncryption } from '@bucketseal/server'

/** Connection settings for the store, from `S3_*` environment variables. */
export interface StoreConfig {
  readonly endpoint: string
  readonly region: string
  readonly bucket: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  /** `undefined`: the server package decides (path style everywhere but AWS). */
  readonly forcePathStyle?: boolean
  /** Shown in the page: which store is in use. */
  readonly label: string
  /** Encryption at rest the store is asked for on every object written; `undefined`: none. */
  readonly serverSideEncryption?: ServerSideEncryption
}

/** What the page is told about the store: nothing secret. */
export interface StoreInfo {
  readonly label: string
  readonly host: string
  readonly bucket: string
}

// Hostname suffixes of the stores the README names; anything else is "an S3-compatible store".
const PROVIDERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(^|\.)amazonaws\.com(\.cn)?$/, 'AWS S3'],
  [/(^|\.)r2\.cloudflarestorage\.com$/, 'Cloudflare R2'],
  [/(^|\.)aliyuncs\.com$/, 'Alibaba Cloud OSS'],
  [/(^|\.)myqcloud\.com$/, 'Tencent Cloud COS'],
  [/(^|\.)bcebos\.com$/, 'Baidu Cloud BOS'],
]

/** A name for the store at `endpoint`, from its hostname. */
export function storeLabel(endpoint: string): string {
  const host = new URL(endpoint).hostname
  const known = PROVIDERS.find(([pattern]) => pattern.test(host))
  return known?.[1] ?? `S3-compatible store at ${new URL(endpoint).host}`
}

/**
 * `S3_SSE`: `AES256`, `aws:kms`, or `aws:kms:<key id>` (the key id may itself hold colons, as an
 * ARN does). SSE-C is not offered: its key would reach every browser (docs/SSE.md).
 * @throws {Error} any other value; the message lists the accepted ones.
 * @example sseFromEnv('aws:kms:alias/uploads') // { mode: 'aws:kms', keyId: 'alias/uploads' }
 */
export function sseFromEnv(value: string): ServerSideEncryption {
  if (value === 'AES256') return { mode: 'AES256' }
  if (value === 'aws:kms') return { mode: 'aws:kms' }
  if (value.startsWith('aws:kms:') && value.length > 'aws:kms:'.length) return { mode: 'aws:kms', keyId: value.slice('aws:kms:'.length) }
  throw new Error(`S3_SSE must be AES256, aws:kms or aws:kms:<key id>, not "${value}".`)
}

/**
 * Reads the store settings: `S3_ENDPOINT`, `S3_REGION` (default us-east-1), `S3_BUCKET`,
 * `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, optionally `S3_FORCE_PATH_STYLE` (true/false),
 * `S3_SSE` (see {@link sseFromEnv}; default none) and `DEMO_STORE_LABEL` (how the page names the store).
 * @throws {Error} a required variable is missing (the message names them all), or `S3_SSE` is malformed.
 */
export function storeFromEnv(env: Readonly<Record<string, string | undefined>>): StoreConfig {
  const required = ['S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const
  const missing = required.filter((name) => !env[name])
  if (missing.length > 0) {
    throw new Error(
      `Missing ${missing.join(', ')}. Start the demo with ./scripts/demo.sh (it starts a local Ceph RGW), or set all of ${required.join(', ')} for your own store.`,
    )
  }
  const endpoint = env['S3_ENDPOINT'] ?? ''
  const pathStyle = env['S3_FORCE_PATH_STYLE']
  const sse = env['S3_SSE']
  return {
    endpoint,
    region: env['S3_REGION'] || 'us-east-1',
    bucket: env['S3_BUCKET'] ?? '',
    accessKeyId: env['S3_ACCESS_KEY_ID'] ?? '',
    secretAccessKey: env['S3_SECRET_ACCESS_KEY'] ?? '',
    ...(pathStyle === undefined || pathStyle === '' ? {} : { forcePathStyle: pathStyle === 'true' }),
    label: env['DEMO_STORE_LABEL'] || storeLabel(endpoint),
    ...(sse === undefined || sse === '' ? {} : { serverSideEncryption: sseFromEnv(sse) }),
  }
}

/** The public description of a store, for the page. */
export function storeInfo(store: StoreConfig): StoreInfo {
  return { label: store.label, host: new URL(store.endpoint).host, bucket: store.bucket }
}
