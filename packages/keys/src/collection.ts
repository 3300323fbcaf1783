/**
 * A named set of stored keys under one key prefix: what own keys and known recipients have in common
 * (list, get, rename, delete). The store's two kinds of record share this code and these docs.
 */
import { InvalidArgumentError } from '@bucketseal/core'
import type { UseStore } from 'idb-keyval'
import { modify, putIfAbsent, read, readAll, remove } from './db.js'
import { KeyNotFoundError } from './errors.js'
import { type KeyInfo, checkName } from './records.js'

const KEY_ID = /^[0-9a-f]{32}$/

/** Keys of one kind in an IndexedDB store. `T` is a stored key or a known recipient. */
export class KeyCollection<T extends KeyInfo> {
  /** The idb-keyval store (shared by every collection of a {@link KeyStore}). */
  protected readonly idb: UseStore
  readonly #prefix: string
  readonly #parse: (stored: unknown) => T | null

  /**
   * @param prefix the record layout version and kind, e.g. `v1/key/`: keys are `prefix` + key id.
   * @param parse the shape check for records read back; a record that fails it is treated as absent.
   * @throws never.
   * @example
   * const recipients = new KeyCollection(store, 'v1/recipient/', readRecipient)
   */
  constructor(idb: UseStore, prefix: string, parse: (stored: unknown) => T | null) {
    this.idb = idb
    this.#prefix = prefix
    this.#parse = parse
  }

  /**
   * Everything in this collection, oldest first.
   *
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * for (const key of await keys.list()) console.log(key.name, key.id, key.algorithm, key.size)
   */
  async list(): Promise<T[]> {
    const all = (await readAll(this.idb, this.#prefix)).map(this.#parse).filter((r): r is T => r !== null)
    return all.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
  }

  /**
   * The entry with this key id, or `undefined`.
   *
   * @throws {InvalidArgumentError} (core) `id` is not 32 lowercase hex digits.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * const key = await keys.get(id)
   */
  async get(id: string): Promise<T | undefined> {
    return this.#parse(await read(this.idb, this.#key(id))) ?? undefined
  }

  /**
   * Renames an entry and returns it. The read and the write are one transaction, so a rename racing
   * a delete in another tab or Worker cannot bring the entry back.
   *
   * @throws {KeyNotFoundError} nothing with this id is stored.
   * @throws {InvalidArgumentError} (core) a bad id, or a name that is empty or over 256 UTF-8 bytes.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * await keys.rename(key.id, 'Old laptop')
   */
  async rename(id: string, name: string): Promise<T> {
    const key = this.#key(id)
    checkName(name)
    const renamed = await modify(this.idb, key, this.#parse, (current) => ({ ...current, name }))
    if (renamed === null) throw notStored(id)
    return renamed
  }

  /**
   * Deletes an entry from this browser; returns whether there was one. For an own key, objects
   * encrypted only to it can then be opened only after restoring its backup.
   *
   * @throws {InvalidArgumentError} (core) `id` is not 32 lowercase hex digits.
   * @throws {StorageUnavailableError} the browser refused IndexedDB.
   * @example
   * await keys.delete(key.id)
   */
  async delete(id: string): Promise<boolean> {
    return remove(this.idb, this.#key(id))
  }

  /** Stores `value` unless an entry with its id exists; returns what is stored afterwards. */
  protected async addIfAbsent(value: T): Promise<T> {
    return (await putIfAbsent(this.idb, this.#key(value.id), value, this.#parse)) ?? value
  }

  #key(id: string): string {
    if (typeof id !== 'string' || !KEY_ID.test(id)) throw new InvalidArgumentError('A key id must be 32 lowercase hexadecimal digits.')
    return this.#prefix + id
  }
}

/** The error for an id that is not stored. */
export function notStored(id: string): KeyNotFoundError {
  return new KeyNotFoundError([id], `No key with id ${id} is stored in this browser.`)
}

/** True for a well-formed key id (32 lowercase hex digits). */
export function isKeyId(id: string): boolean {
  return KEY_ID.test(id)
}
