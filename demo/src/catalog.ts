/**
 * The bucket's objects as this page knows them: listed by the server (opaque keys, sizes, the header
 * mirror), and opened here with the keys in this browser to learn their real names. Opened objects
 * are cached until the keys change.
 */
import { type IdentityInput, type MirroredHeader, metadataToHeader } from '@bucketseal/core'
import type { KeyStore } from '@bucketseal/keys'
import { type RemoteObject, type Signer, openRemote } from '@bucketseal/upload'
import { type ListedObject, listObjects } from './api.js'

export interface Entry extends ListedObject {
  /** The header mirror from the object's metadata: untrusted, for display; `null` when absent or malformed. */
  readonly mirror: MirroredHeader | null
}

function readMirror(metadata: Readonly<Record<string, string>>): MirroredHeader | null {
  try {
    return metadataToHeader(metadata, { prefix: '' })
  } catch {
    return null
  }
}

export class Catalog {
  entries: readonly Entry[] = []
  truncated = false
  readonly #signer: Signer
  readonly #keys: KeyStore
  readonly #opened = new Map<string, Promise<RemoteObject>>()

  constructor(signer: Signer, keys: KeyStore) {
    this.#signer = signer
    this.#keys = keys
  }

  /** Lists the bucket again. */
  async refresh(): Promise<readonly Entry[]> {
    const { objects, truncated } = await listObjects()
    this.entries = objects.map((o) => ({ ...o, mirror: readMirror(o.metadata) }))
    this.truncated = truncated
    return this.entries
  }

  find(key: string): Entry | undefined {
    return this.entries.find((e) => e.key === key)
  }

  /**
   * The keys in this browser that `entry` needs. With the key ids from the mirror, a missing key is
   * reported as KEY_NOT_FOUND naming them, before anything is downloaded.
   * @throws {KeyNotFoundError} this browser holds none of the object's keys.
   */
  async keysFor(entry: Entry | undefined): Promise<IdentityInput[]> {
    const ids = entry?.mirror?.keyIds ?? []
    if (ids.length > 0) return this.#keys.identitiesFor({ keyIds: ids })
    return this.#keys.identities()
  }

  /** Opens an object's header (a HEAD and one small ranged GET): its real name, type and layout. */
  open(key: string): Promise<RemoteObject> {
    let opened = this.#opened.get(key)
    if (opened === undefined) {
      opened = this.keysFor(this.find(key)).then((keys) => openRemote(key, { signer: this.#signer, keys }))
      this.#opened.set(key, opened)
    }
    return opened
  }

  /** Forgets opened objects and failures (after keys were added or removed). */
  forget(): void {
    this.#opened.clear()
  }
}
