/**
 * Comlink rebuilds a thrown error on the other side of a Worker boundary from its name, message and
 * stack only. Ours carry a `code` (and some a `status`, `keyIds` or `chunkIndex`) that apps branch
 * on, and apps test them with `instanceof`. {@link installErrorTransport} wraps comlink's "throw"
 * handler so that Bucketseal's errors cross with their class and fields, and everything else (an
 * app's own comlink Workers share this handler table) goes through comlink's handler unchanged.
 *
 * It is installed by an explicit call (by `workerPool` on the page and by the Worker entry), never
 * by importing this module: the package is `"sideEffects": false`, and bundlers drop imports kept
 * only for their effect.
 */
import {
  BadHeaderError,
  BucketsealError,
  CommitmentMismatchError,
  DecryptionError,
  type ErrorCode,
  InvalidArgumentError,
  KmsError,
  type KmsErrorCode,
  TamperedError,
  TruncatedError,
  UnsupportedVersionError,
  WrongKeyError,
} from '@bucketseal/core'
import { type TransferHandler, transferHandlers } from 'comlink'
import { TransferError, type TransferErrorCode } from './errors.js'

/** Marks our serialized form, so the far side never mistakes an app's thrown value for ours. */
const MARK = 'bucketseal-error/1'

interface SerializedError {
  readonly mark: typeof MARK
  readonly name: string
  readonly code: string
  readonly message: string
  readonly stack: string | undefined
  readonly status: number | undefined
  readonly source: string | undefined
  readonly keyIds: readonly string[] | undefined
  readonly chunkIndex: number | undefined
}

const TRANSFER_CODES: ReadonlySet<string> = new Set<TransferErrorCode>([
  'INVALID_ARGUMENT',
  'INSECURE_URL',
  'MISSING_ETAG',
  'REQUEST_REJECTED',
  'NETWORK',
  'ABORTED',
  'FILE_CHANGED',
  'BAD_STATE',
  'WORKER_FAILED',
  'UPLOAD_IN_PROGRESS',
  'RESUME_MISMATCH',
])
const DECRYPTION_CODES: ReadonlySet<string> = new Set<ErrorCode>(['BAD_HEADER', 'UNSUPPORTED_VERSION', 'WRONG_KEY', 'COMMITMENT_MISMATCH', 'TAMPERED', 'TRUNCATED'])
const KMS_CODES: ReadonlySet<string> = new Set<KmsErrorCode>(['KMS_DENIED', 'KMS_INVALID_CIPHERTEXT', 'KMS_UNAVAILABLE', 'KMS_FAILED'])

const isTransferCode = (c: string): c is TransferErrorCode => TRANSFER_CODES.has(c)
const isDecryptionCode = (c: string): c is Exclude<ErrorCode, 'INVALID_ARGUMENT'> => DECRYPTION_CODES.has(c)
const isKmsCode = (c: string): c is KmsErrorCode => KMS_CODES.has(c)

function field(value: object, name: string): unknown {
  return name in value ? Reflect.get(value, name) : undefined
}

function serialize(error: BucketsealError<string>): SerializedError {
  const status = field(error, 'status')
  const source = field(error, 'source')
  const keyIds = field(error, 'keyIds')
  const chunkIndex = field(error, 'chunkIndex')
  return {
    mark: MARK,
    name: error.name,
    code: error.code,
    message: error.message,
    stack: error.stack,
    status: typeof status === 'number' ? status : undefined,
    source: typeof source === 'string' ? source : undefined,
    keyIds: Array.isArray(keyIds) && keyIds.every((k) => typeof k === 'string') ? keyIds : undefined,
    chunkIndex: typeof chunkIndex === 'number' ? chunkIndex : undefined,
  }
}

function isSerialized(v: unknown): v is SerializedError {
  return (
    typeof v === 'object' &&
    v !== null &&
    field(v, 'mark') === MARK &&
    typeof field(v, 'name') === 'string' &&
    typeof field(v, 'code') === 'string' &&
    typeof field(v, 'message') === 'string'
  )
}

/** The error of this realm's class that `s` describes; its message is the original one. */
function rebuild(s: SerializedError): Error {
  const { code, message } = s
  let error: BucketsealError<string>
  if (s.name === 'TransferError' && isTransferCode(code)) {
    error = new TransferError(code, message, {
      ...(s.status === undefined ? {} : { status: s.status }),
      ...(s.source === 'signer' || s.source === 'store' ? { source: s.source } : {}),
    })
  } else if (s.name === 'KmsError' && isKmsCode(code)) {
    error = new KmsError(code, message, s.status === undefined ? undefined : { status: s.status })
  } else if (code === 'TAMPERED') {
    error = new TamperedError(message, s.chunkIndex)
  } else if (code === 'TRUNCATED') {
    error = new TruncatedError(message)
  } else if (code === 'WRONG_KEY') {
    error = new WrongKeyError(s.keyIds ?? [])
  } else if (code === 'COMMITMENT_MISMATCH') {
    error = new CommitmentMismatchError()
  } else if (code === 'BAD_HEADER') {
    error = new BadHeaderError(message)
  } else if (code === 'UNSUPPORTED_VERSION') {
    error = new UnsupportedVersionError(message)
  } else if (code === 'INVALID_ARGUMENT' && s.name === 'InvalidArgumentError') {
    error = new InvalidArgumentError(message)
  } else if (isDecryptionCode(code)) {
    error = new DecryptionError(code, message)
  } else {
    // Another package's code (keys, say): the common base class, which callers branch on by `code`.
    error = new BucketsealError<string>(code, message)
  }
  // Constructors that compose their message (WrongKeyError) get the original text back.
  error.message = message
  error.name = s.name
  if (s.stack !== undefined) error.stack = s.stack
  return error
}

/** The thrown value comlink wraps as `{ value }` before handing it to the "throw" handler. */
function thrownValue(wrapped: unknown): unknown {
  return typeof wrapped === 'object' && wrapped !== null && 'value' in wrapped ? wrapped.value : wrapped
}

let installed: TransferHandler<unknown, unknown> | null = null

/**
 * Makes Bucketseal's errors cross comlink Worker boundaries with their class, `code` and fields.
 * Idempotent; other thrown values keep comlink's own handling. `workerPool` and the Worker entry
 * (`@bucketseal/client/worker`) call it, so an app only needs it when it posts our errors through
 * comlink Workers of its own. Must run on both sides of the boundary. If an app replaces comlink's
 * "throw" handler after this call, its handler decides.
 * @example installErrorTransport()
 */
export function installErrorTransport(): void {
  const current = transferHandlers.get('throw')
  if (current === undefined || current === installed) return
  const base = current
  const handler: TransferHandler<unknown, unknown> = {
    canHandle: (value: unknown): value is unknown => base.canHandle(value),
    serialize(wrapped: unknown): [unknown, Transferable[]] {
      const value = thrownValue(wrapped)
      if (value instanceof BucketsealError) return [serialize(value), []]
      return base.serialize(wrapped)
    },
    deserialize(serialized: unknown): unknown {
      if (isSerialized(serialized)) throw rebuild(serialized)
      return base.deserialize(serialized)
    },
  }
  installed = handler
  transferHandlers.set('throw', handler)
}
