/**
 * The error hierarchy of @bucketseal/server. Everything this package throws on purpose is a
 * {@link ServerError} with a stable {@link ServerErrorCode}. Messages say what happened and what to
 * do; they never contain credentials, signatures or request bodies.
 */

/**
 * Codes of invalid input. `INVALID_ARGUMENT` is the general one (options, types); the others name
 * the request field at fault, so a client can tell its user which.
 */
export type InvalidInputCode =
  /** An option or argument has the wrong type, size or range. Fix the call. */
  | 'INVALID_ARGUMENT'
  /** An object key: empty, over 1024 UTF-8 bytes, starting with `/`, or with a `.`/`..` segment or a control character. */
  | 'INVALID_KEY'
  /** A multipart upload id: not a non-empty string of printable ASCII. */
  | 'INVALID_UPLOAD_ID'
  /** A part number: not an integer from 1 to 10000, or repeated. */
  | 'INVALID_PART_NUMBER'
  /** The list of parts to complete: empty, too long, or with a malformed ETag. */
  | 'INVALID_PARTS'
  /** User metadata: a bad name, a value that is not printable ASCII, or over 2 KB in all. */
  | 'INVALID_METADATA'
  /** A content type that is not printable ASCII of at most 255 characters. */
  | 'INVALID_CONTENT_TYPE'
  /** A byte range that is not `bytes=first-last`, `bytes=first-` or `bytes=-suffix`. */
  | 'INVALID_RANGE'

/** Stable machine-readable codes of the errors this package throws. */
export type ServerErrorCode =
  | InvalidInputCode
  /** The object store answered with an S3 error; see {@link S3Error.s3Code}. */
  | 'S3_ERROR'
  /** The object store answered with something that is not a well-formed S3 response. */
  | 'BAD_S3_RESPONSE'
  /** The object store could not be reached (DNS, connection refused, reset). */
  | 'S3_UNREACHABLE'
  /** A key service refused or failed (see `KmsAdapterError` in kms.ts). */
  | 'KMS_DENIED'
  | 'KMS_INVALID_CIPHERTEXT'
  | 'KMS_UNAVAILABLE'

/** Base class of every error this package throws on purpose. */
export class ServerError extends Error {
  readonly code: ServerErrorCode

  constructor(code: ServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'ServerError'
  }
}

/**
 * A public function was called with an option or argument of the wrong type, length or range. The
 * handler answers these with HTTP 400 and the same `code`.
 */
export class InvalidInputError extends ServerError {
  declare readonly code: InvalidInputCode

  constructor(message: string, code: InvalidInputCode = 'INVALID_ARGUMENT') {
    super(code, message)
    this.name = 'InvalidInputError'
  }
}

/**
 * The object store refused a request. `status` is its HTTP status and `s3Code` its S3 error code
 * (`NoSuchKey`, `NoSuchUpload`, `AccessDenied`, `SignatureDoesNotMatch`, …; for a HEAD, which has
 * no body, a code derived from the status).
 */
export class S3Error extends ServerError {
  readonly status: number
  readonly s3Code: string
  /** The store's request id, for its operator's logs, when it sent one. */
  readonly requestId: string | undefined

  constructor(status: number, s3Code: string, message: string, requestId?: string) {
    super('S3_ERROR', `${s3Code}: ${message}`)
    this.name = 'S3Error'
    this.status = status
    this.s3Code = s3Code
    this.requestId = requestId
  }
}

/** The object store's answer could not be read as the S3 response it should be. */
export class BadS3ResponseError extends ServerError {
  constructor(message: string) {
    super('BAD_S3_RESPONSE', message)
    this.name = 'BadS3ResponseError'
  }
}

/** The object store could not be reached at all. The original network error is the `cause`. */
export class S3UnreachableError extends ServerError {
  constructor(message: string, cause: unknown) {
    super('S3_UNREACHABLE', message, { cause })
    this.name = 'S3UnreachableError'
  }
}

/**
 * True when `value` is a {@link ServerError}, optionally with the given code.
 *
 * @example
 * try { await s3.headObject('a') } catch (e) { if (isServerError(e, 'S3_ERROR')) console.log(e.code) }
 */
export function isServerError(value: unknown, code?: ServerErrorCode): value is ServerError {
  return value instanceof ServerError && (code === undefined || value.code === code)
}
