/**
 * The bucket's objects as this page knows them: listed by the server (opaque keys, sizes, the header
 * mirror), and opened here with the keys in this browser to learn their real names and recipients.
 * Opened objects are cached until the keys change, or the object does (a share rewrites it).
 */
import { type IdentityInput, type MirroredHeader, type Stanza, metadataToHeader, stanzaKeyId } from '@bucketseal/core'
import type { KeyStore } from '@bucketseal/keys'
import { type RemoteObject, type Signer, openRemote } from '@bucketseal/client'
import { type ListedObject, listObjects } from './api.js'

export interface Entry extends ListedObject {
  /** The header mirror from the object's metadata: untrusted, for display; `null` when absent or malformed. */
  readonly mirror: MirroredHeader | null
}

/** Who can open an object: its recipient entries, the body header's first, then those shared in metadata. */
export interface RecipientList {
  readonly stanzas: readonly Stanza[]
  /** Key ids of the entries, in order (passphrase entries have none). */
  readonly keyIds: readonly string[]
  /** Key ids written in the body header; the others are in the metadata mirror only. */
  readonly inHeader: ReadonlySet<string>
}

function keyIdsOf(stanzas: readonly Stanza[]): string[] {
  return stanzas.map(stanzaKeyId).filter((id): id is string => id !== null)
}

function sameStanza(a: Stanza, b: Stanza): boolean {
  return a.type === b.type && a.body.length === b.body.length && a.body.every((byte, i) => byte === b.body[i])
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
  /** What each object looked like when last listed, to notice one that changed. */
  readonly #versions = new Map<string, string>()

  constructor(signer: Signer, keys: KeyStore) {
    this.#signer = signer
    this.#keys = keys
  }

  /** Lists the bucket again. */
  async refresh(): Promise<readonly Entry[]> {
    const { objects, truncated } = await listObjects()
    this.entries = objects.map((o) => ({ ...o, mirror: readMirror(o.metadata) }))
    this.truncated = truncated
    for (const entry of this.entries) {
      // Shared or un-shared since (here or in another browser): its metadata or header changed.
      const version = `${entry.lastModified} ${JSON.stringify(entry.metadata)}`
      if (this.#versions.get(entry.key) !== version) this.#opened.delete(entry.key)
      this.#versions.set(entry.key, version)
    }
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

  /**
   * An object's recipients: the entries of its body header and those added through the metadata
   * mirror (a share that copied the object onto itself with new metadata). Opens the object first:
   * the mirror is only a hint until the body header, which commits to the data key, is read.
   * @throws whatever {@link Catalog.open} throws (KEY_NOT_FOUND, WRONG_KEY, …).
   */
  async recipients(entry: Entry): Promise<RecipientList> {
    const body = (await this.open(entry.key)).header.recipients
    const mirrored = entry.mirror?.header?.recipients ?? []
    const stanzas = [...body, ...mirrored.filter((m) => !body.some((b) => sameStanza(b, m)))]
    return { stanzas, keyIds: keyIdsOf(stanzas), inHeader: new Set(keyIdsOf(body)) }
  }

  /** Forgets opened objects and failures: all of them (after keys were added or removed), or one. */
  forget(key?: string): void {
    if (key === undefined) this.#opened.clear()
    else this.#opened.delete(key)
  }
}
