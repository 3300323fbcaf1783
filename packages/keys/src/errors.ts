/**
 * The errors of the keys package. Each failure a caller can act on is a {@link KeysError} with a
 * stable {@link KeysErrorCode}; messages say what happened and what to do, and never contain key
 * material or passphrases.
 *
 * These extend core's `BucketsealError` with codes of their own: core's codes describe the object
 * format (a header, a chunk, a recipient entry), these local state (a key this browser does not
 * hold, storage the browser refuses) and backup files. A bad argument is the one failure both
 * packages share, so it is core's `InvalidArgumentError` here too: `code === 'INVALID_ARGUMENT'`
 * means one thing, with one class, across Bucketseal.
 */
import { BucketsealError } from '@bucketseal/core'

/** Stable machine-readable error codes. New codes may be added; existing ones never change meaning. */
export type KeysErrorCode =
  /** No stored key has the id asked for, or no stored key opens an object. Offer to restore a backup. */
  | 'KEY_NOT_FOUND'
  /** The passphrase does not open the backup file. Ask again. */
  | 'WRONG_PASSPHRASE'
  /** The file is not a key backup, is damaged, or was modified. Ask for another copy. */
  | 'BAD_BACKUP'
  /** The browser refused access to IndexedDB (private mode, site settings, quota, no IndexedDB here). */
  | 'STORAGE_UNAVAILABLE'

/** Base class of every error of this package except bad arguments (core's `InvalidArgumentError`). */
export class KeysError extends BucketsealError<KeysErrorCode> {
  constructor(code: KeysErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.name = 'KeysError'
  }
}

/**
 * A key is not in this browser's store. `keyIds` names the keys that were asked for or that an
 * object is encrypted to, so an app can say which backup file to restore.
 */
export class KeyNotFoundError extends KeysError {
  readonly keyIds: readonly string[]

  constructor(keyIds: readonly string[], message: string) {
    super('KEY_NOT_FOUND', message)
    this.name = 'KeyNotFoundError'
    this.keyIds = keyIds
  }
}

/** The passphrase does not open the backup (the file itself checked out as undamaged). */
export class WrongPassphraseError extends KeysError {
  constructor() {
    super('WRONG_PASSPHRASE', 'The passphrase does not open this key backup. Check it and try again.')
    this.name = 'WrongPassphraseError'
  }
}

/** The bytes are not a key backup this version can read, or the file was damaged or modified. */
export class BadBackupError extends KeysError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BAD_BACKUP', message, options)
    this.name = 'BadBackupError'
  }
}

/** IndexedDB is missing or the browser refused it. `cause` holds the browser's own error. */
export class StorageUnavailableError extends KeysError {
  constructor(cause: unknown) {
    const what = cause instanceof Error ? ` (${cause.name}: ${cause.message})` : ''
    super(
      'STORAGE_UNAVAILABLE',
      `The browser's key storage (IndexedDB) is not available${what}. Private browsing, site settings or a full disk can cause this; keys cannot be stored or read until it is.`,
      { cause },
    )
    this.name = 'StorageUnavailableError'
  }
}

const CODES: ReadonlySet<string> = new Set<KeysErrorCode>(['KEY_NOT_FOUND', 'WRONG_PASSPHRASE', 'BAD_BACKUP', 'STORAGE_UNAVAILABLE'])

/**
 * True when `value` is a {@link KeysError}, optionally with the given code. Works across realms: an
 * error rebuilt on the far side of a Worker boundary is recognised by its `code`.
 *
 * @throws never.
 * @example
 * try {
 *   await keys.restoreFromBackup(file, passphrase)
 * } catch (error) {
 *   if (isKeysError(error, 'WRONG_PASSPHRASE')) askAgain()
 *   else throw error
 * }
 */
export function isKeysError(value: unknown, code?: KeysErrorCode): value is KeysError {
  if (value instanceof KeysError) return code === undefined || value.code === code
  if (typeof value !== 'object' || value === null || !('code' in value)) return false
  const c = value.code
  return typeof c === 'string' && CODES.has(c) && (code === undefined || c === code)
}
