/**
 * Whether a saved upload is the one this call asks for. A resumed upload keeps its data key and
 * header, so resuming with other recipients would silently keep the old ones able to decrypt (and
 * `reencryptObject` would keep a revoked key): every field that determines the object is compared,
 * and a difference is an error that names it.
 */
import { type ObjectMetadata, type Passphrase, type RecipientInput, type Stanza, StanzaType, aesKwRecipient, parseHeader, passphraseIdentity, rsaRecipient, stanzaKeyId } from '@bucketseal/core'
import type { UploadState } from './state.js'

/** Metadata as canonical JSON (fixed key order, fields sorted), `''` for none. */
export function canonicalMetadata(m: ObjectMetadata | undefined): string {
  if (m === undefined) return ''
  const fields = m.fields === undefined ? undefined : Object.fromEntries(Object.entries(m.fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  return JSON.stringify({ name: m.name, type: m.type, lastModified: m.lastModified, fields })
}

function isPassphrase(r: RecipientInput): r is Passphrase {
  return typeof r === 'object' && r !== null && 'passphrase' in r && typeof r.passphrase === 'string'
}

function isCryptoKey(r: RecipientInput): r is CryptoKey {
  return typeof CryptoKey !== 'undefined' && r instanceof CryptoKey
}

/** `type:keyid` of the stanza a recipient writes, learnt by wrapping a throwaway key (never used). */
async function describe(r: Exclude<RecipientInput, Passphrase>): Promise<string> {
  const recipient = isCryptoKey(r) ? (r.algorithm.name === 'RSA-OAEP' ? rsaRecipient(r) : aesKwRecipient(r)) : r
  const stanza = await recipient.wrap(crypto.getRandomValues(new Uint8Array(32)))
  return `${stanza.type}:${stanzaKeyId(stanza) ?? ''}`
}

function sameMultiset(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort()
  const y = [...b].sort()
  return x.length === y.length && x.every((v, i) => v === y[i])
}

/**
 * Whether `recipients` are the ones the saved header was written for: the same key ids and kinds,
 * and every passphrase opening one of its passphrase entries (PBKDF2 iteration counts are not
 * compared). A custom recipient is asked to wrap a throwaway key, once (a KMS recipient calls its
 * service).
 */
async function sameRecipients(stanzas: readonly Stanza[], recipients: readonly RecipientInput[]): Promise<boolean> {
  const passphrases: Passphrase[] = []
  const others: Array<Exclude<RecipientInput, Passphrase>> = []
  for (const r of recipients) {
    if (isPassphrase(r)) passphrases.push(r)
    else others.push(r)
  }
  const stored = stanzas.filter((s) => s.type !== StanzaType.PASSPHRASE)
  const storedPass = stanzas.filter((s) => s.type === StanzaType.PASSPHRASE)
  if (passphrases.length !== storedPass.length) return false
  const wanted = await Promise.all(others.map(describe))
  if (!sameMultiset(wanted, stored.map((s) => `${s.type}:${stanzaKeyId(s) ?? ''}`))) return false
  for (const p of passphrases) {
    if ((await passphraseIdentity(p).unwrap(storedPass)) === null) return false
  }
  return true
}

/** What this call asks of the object, to compare with a saved upload. */
export interface UploadIntent {
  readonly recipients: readonly RecipientInput[]
  /** Canonical metadata (see {@link canonicalMetadata}). */
  readonly metadata: string
  /** An explicit object key, or `undefined` for "any" (the default key is random). */
  readonly objectKey: string | undefined
  readonly keyPrefix: string | undefined
  readonly chunkSize: number
  readonly partSize: number
}

/** The names of what differs between `state` and `intent` (empty when the upload may resume). */
export async function resumeDifferences(state: UploadState, intent: UploadIntent): Promise<string[]> {
  const differ: string[] = []
  if (intent.objectKey !== undefined && intent.objectKey !== state.objectKey) differ.push(`objectKey (saved "${state.objectKey}")`)
  if (intent.keyPrefix !== undefined && !state.objectKey.startsWith(intent.keyPrefix)) differ.push(`keyPrefix (saved key "${state.objectKey}")`)
  if (intent.chunkSize !== state.plan.chunkSize) differ.push(`chunkSize (saved ${state.plan.chunkSize})`)
  if (intent.partSize !== state.plan.partSize) differ.push(`partSize (saved ${state.plan.partSize})`)
  if (intent.metadata !== state.metadata) differ.push('metadata')
  if (!(await sameRecipients(parseHeader(state.header).recipients, intent.recipients))) differ.push('recipients')
  return differ
}
