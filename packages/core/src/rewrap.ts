/**
 * Sharing and rotation without re-encryption: a new recipient list for an existing object. The data
 * key is unwrapped with a key the caller holds, checked against the header's key commitment, and
 * wrapped for the new recipients; the content key, the chunks and the private metadata stay as they
 * are, so only the header (or the metadata mirror) is rewritten (FORMAT.md, "Changing recipients").
 */
import { InvalidArgumentError } from './errors.js'
import { type Header, type Stanza, MAX_RECIPIENTS, encodeHeader, parseHeader } from './header.js'
import { withDataKey } from './object.js'
import { type IdentityInput, type RecipientInput, toRecipient } from './recipients.js'

export interface RewrapOptions {
  /** A key that opens the object now. */
  readonly keys: IdentityInput | readonly IdentityInput[]
  /** The complete new recipient list (it replaces the old one). */
  readonly recipients: readonly RecipientInput[]
}

/**
 * Wraps an object's data key for a new list of recipients.
 *
 * @returns the new recipient entries, in the order given.
 * @throws {WrongKeyError} | {CommitmentMismatchError} none of `keys` opens the object.
 * @throws {InvalidArgumentError} an empty or too long recipient list.
 */
export async function rewrapRecipients(header: Header, options: RewrapOptions): Promise<Stanza[]> {
  const { recipients } = options
  if (!Array.isArray(recipients) || recipients.length === 0) throw new InvalidArgumentError('recipients must list at least one recipient.')
  if (recipients.length > MAX_RECIPIENTS) throw new InvalidArgumentError(`At most ${MAX_RECIPIENTS} recipients are allowed.`)
  const wrappers = recipients.map(toRecipient)
  return withDataKey(header, options.keys, (dek) => Promise.all(wrappers.map((r) => r.wrap(dek))))
}

/**
 * The object's header with a new recipient list: same fixed fields, commitment and sealed metadata,
 * so the existing chunks stay valid behind it. Its length may differ from the old header's: chunks
 * then start at a new offset, which is why a stored object's body is rewritten as
 * `new header ‖ old chunks` (see `@bucketseal/client`'s `setRecipients`).
 *
 * A party that once held the data key may have kept it: removing its entry stops it from opening the
 * object with its master key, not from using a key it saved. Only re-encryption revokes that.
 *
 * @param header the object's header (bytes or parsed).
 * @throws {WrongKeyError} | {CommitmentMismatchError} | {InvalidArgumentError} | {BadHeaderError}
 * @example
 * const next = await rewrapHeader(header, { keys: me, recipients: [me.publicKey, colleague] })
 */
export async function rewrapHeader(header: Uint8Array | Header, options: RewrapOptions): Promise<Uint8Array> {
  const parsed = header instanceof Uint8Array ? parseHeader(header) : header
  const stanzas = await rewrapRecipients(parsed, options)
  return encodeHeader({ ...parsed, recipients: stanzas })
}

/**
 * A header whose recipient entries come from elsewhere (the metadata mirror, after a share that
 * rewrote only metadata), bound to the body header's fixed fields and key commitment. Opening it
 * accepts an entry only if its data key matches the body's commitment, so whoever can edit metadata
 * can deny access but never substitute a key.
 */
export function withRecipients(bodyHeader: Header, recipients: readonly Stanza[]): Header {
  if (recipients.length === 0) throw new InvalidArgumentError('recipients must not be empty.')
  return { ...bodyHeader, recipients }
}
