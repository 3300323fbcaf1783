/**
 * Comlink rebuilds a thrown error on the other side from its name, message and stack only. Our
 * errors carry a `code` (and some a `status`, `keyIds` or `chunkIndex`) that apps branch on, so this
 * replaces comlink's "throw" transfer handler with one that keeps them. Imported for its effect by
 * both the Worker and the page side of the pool.
 */
import { BucketsealError } from '@bucketseal/core'
import { transferHandlers } from 'comlink'
import { TransferError, type TransferErrorCode } from './errors.js'

interface SerializedError {
  readonly isError: true
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
  readonly code: string | undefined
  readonly extra: Readonly<Record<string, unknown>>
}

const TRANSFER_CODES = new Set<string>(['INVALID_ARGUMENT', 'INSECURE_URL', 'MISSING_ETAG', 'REQUEST_REJECTED', 'NETWORK', 'ABORTED', 'FILE_CHANGED', 'BAD_STATE'])

function isTransferCode(code: string): code is TransferErrorCode {
  return TRANSFER_CODES.has(code)
}


function isSerializedError(v: unknown): v is SerializedError {
  return (
    typeof v === 'object' &&
    v !== null &&
    'isError' in v &&
    v.isError === true &&
    'message' in v &&
    typeof v.message === 'string' &&
    'name' in v &&
    typeof v.name === 'string' &&
    'extra' in v &&
    typeof v.extra === 'object' &&
    v.extra !== null
  )
}

const base = transferHandlers.get('throw')

if (base !== undefined) {
  transferHandlers.set('throw', {
    canHandle: (value: unknown): value is unknown => base.canHandle(value),
    serialize(wrapped: unknown): [unknown, Transferable[]] {
      const value = typeof wrapped === 'object' && wrapped !== null && 'value' in wrapped ? wrapped.value : wrapped
      if (!(value instanceof Error)) return [{ isError: false, value }, []]
      const extra: Record<string, unknown> = {}
      for (const name of ['status', 'source', 'keyIds', 'chunkIndex'] as const) {
        if (name in value) extra[name] = Reflect.get(value, name)
      }
      const code = 'code' in value && typeof value.code === 'string' ? value.code : undefined
      const out: SerializedError = { isError: true, name: value.name, message: value.message, stack: value.stack, code, extra }
      return [out, []]
    },
    deserialize(s: unknown): never {
      if (!isSerializedError(s)) throw typeof s === 'object' && s !== null && 'value' in s ? s.value : s
      let error: Error
      if (s.name === 'TransferError' && s.code !== undefined && isTransferCode(s.code)) {
        const { status, source } = s.extra
        error = new TransferError(s.code, s.message, {
          ...(typeof status === 'number' ? { status } : {}),
          ...(source === 'signer' || source === 'store' ? { source } : {}),
        })
      } else if (s.code !== undefined) {
        // Core's codes and other packages' (keys, say) on the common base class, which
        // isBucketsealError recognises by code.
        error = Object.assign(new BucketsealError<string>(s.code, s.message), s.extra)
      } else {
        error = new Error(s.message)
      }
      error.name = s.name
      if (s.stack !== undefined) error.stack = s.stack
      throw error
    },
  })
}
