/** The demo server's own JSON routes (demo/server.ts); the presigning calls go through `httpSigner`. */
import type { ObjectEncryption } from '@bucketseal/server'
import type { ListedObject } from '../server/objects.js'
import type { StoreInfo } from '../server/store.js'

export type { ListedObject, ObjectEncryption }

export interface DemoConfig {
  readonly store: StoreInfo
  /** Object keys the server lets this page touch. */
  readonly prefix: string
}

type Json = Readonly<Record<string, unknown>>

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new Error(`The demo server's answer lacks "${name}".`)
  return value
}

async function getJson(path: string): Promise<Json> {
  const response = await fetch(path, { headers: { accept: 'application/json' } })
  const body: unknown = await response.json().catch(() => null)
  if (!isJson(body)) throw new Error(`The demo server answered ${path} with HTTP ${response.status} and no JSON.`)
  const error = body['error']
  if (!response.ok) throw new Error(isJson(error) ? text(error['message'], 'message') : `HTTP ${response.status} from ${path}.`)
  return body
}

/** Which store the server uses, and the object prefix. */
export async function getConfig(): Promise<DemoConfig> {
  const body = await getJson('/api/config')
  const store = isJson(body['store']) ? body['store'] : {}
  return {
    store: { label: text(store['label'], 'store.label'), host: text(store['host'], 'store.host'), bucket: text(store['bucket'], 'store.bucket') },
    prefix: text(body['prefix'], 'prefix'),
  }
}

/** `serverSideEncryption` of an object as the server sent it; `null` for none (or anything unknown). */
function encryption(value: unknown): ObjectEncryption | null {
  if (!isJson(value)) return null
  const mode = value['mode']
  const optional = (name: string): string | undefined => (typeof value[name] === 'string' ? value[name] : undefined)
  if (mode === 'AES256') return { mode }
  if (mode === 'aws:kms') return { mode, keyId: optional('keyId') }
  if (mode === 'SSE-C') return { mode, keyMD5: optional('keyMD5') ?? '' }
  return null
}

/** The demo's objects, newest first, with their header mirror metadata and encryption at rest. */
export async function listObjects(): Promise<{ objects: ListedObject[]; truncated: boolean }> {
  const body = await getJson('/api/objects')
  const list = Array.isArray(body['objects']) ? body['objects'] : []
  const objects = list.filter(isJson).map((o) => ({
    key: text(o['key'], 'key'),
    size: typeof o['size'] === 'number' ? o['size'] : 0,
    lastModified: typeof o['lastModified'] === 'string' ? o['lastModified'] : '',
    metadata: Object.fromEntries(Object.entries(isJson(o['metadata']) ? o['metadata'] : {}).filter((e): e is [string, string] => typeof e[1] === 'string')),
    serverSideEncryption: encryption(o['serverSideEncryption']),
  }))
  return { objects, truncated: body['truncated'] === true }
}
