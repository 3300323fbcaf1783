/**
 * What to tell a person for each typed error of the Bucketseal packages. Every error they throw on
 * purpose has a stable `code`; most messages are already written for people and pass through, and
 * the ones below add what this app knows (key names) or what to do next.
 */

interface Coded {
  readonly code: string
  readonly message: string
  readonly keyIds: readonly string[]
  readonly status: number | undefined
  /** `TransferError.source`: who refused, the presigning server (`signer`) or the store. */
  readonly source: string | undefined
}

function coded(error: unknown): Coded | null {
  if (typeof error !== 'object' || error === null || !('code' in error) || typeof error.code !== 'string') return null
  const message = 'message' in error && typeof error.message === 'string' ? error.message : error.code
  const ids = 'keyIds' in error && Array.isArray(error.keyIds) ? error.keyIds.filter((id): id is string => typeof id === 'string') : []
  const status = 'status' in error && typeof error.status === 'number' ? error.status : undefined
  const source = 'source' in error && typeof error.source === 'string' ? error.source : undefined
  return { code: error.code, message, keyIds: ids, status, source }
}

/** `names` maps key ids to what this browser calls them (own keys and colleagues). */
function keyList(ids: readonly string[], names: ReadonlyMap<string, string>): string {
  return ids.map((id) => (names.has(id) ? `"${names.get(id)}" (key id ${id})` : `key id ${id}`)).join(', ')
}

/**
 * The sentence to show for `error`.
 * @param names key id → name, to say which key an object needs in words the person knows.
 * @example status.textContent = explain(error, await app.keyNames())
 */
export function explain(error: unknown, names: ReadonlyMap<string, string> = new Map()): string {
  const e = coded(error)
  if (e === null) return error instanceof Error ? error.message : String(error)
  switch (e.code) {
    case 'WRONG_KEY':
    case 'KEY_NOT_FOUND':
      return e.keyIds.length === 0
        ? 'None of the keys in this browser can open this object, and it names no key id.'
        : `Wrong key: none of the keys in this browser can open this object. It is encrypted to ${keyList(e.keyIds, names)}. ` +
            'Restore that key from its backup file on the Keys screen, or ask whoever holds it to share the file with your key.'
    case 'TAMPERED':
      return `Tampered object: it was changed on the store after it was encrypted, so it failed authentication. Nothing unverified was shown or saved. (${e.message})`
    case 'TRUNCATED':
      return `Incomplete object: it is cut short on the store. Nothing was saved. (${e.message})`
    case 'COMMITMENT_MISMATCH':
      return `Tampered header: ${e.message}`
    case 'BAD_HEADER':
      return `This is not a Bucketseal object, or its header is damaged. (${e.message})`
    case 'MISSING_ETAG':
      return 'The store accepted the upload, but the browser may not read the ETag header that multipart uploads need: add "ETag" to ExposeHeaders in the bucket\'s CORS rules.'
    case 'REQUEST_REJECTED':
      // The uploader re-signs once after a 403 from the store; a second 403 means the link itself is
      // refused. (A refusal by the presigning server, source 'signer', passes through as it is.)
      return e.status === 403 && e.source === 'store'
        ? `The store refused the signed link (HTTP 403). Links expire after 15 minutes; a fresh one was refused too, so check the server's clock and the store's credentials. (${e.message})`
        : e.message
    case 'NETWORK':
      return `Cannot reach the store or the demo server: ${e.message}`
    case 'ABORTED':
      return 'Cancelled.'
    default:
      return e.message
  }
}
