// A second, deliberately naive reader of the format written from docs/FORMAT.md alone, on raw
// WebCrypto: it recomputes what the library computes so the vectors are checked against the spec,
// not only against the library that wrote them. Test code only.

const te = new TextEncoder()

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export function unhex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function b64(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

export function unb64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

function ab(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer
}

/** HKDF-SHA-256(dek, salt, label ‖ preamble) as FORMAT.md "Key schedule" defines it. */
export async function specDerive(dek: Uint8Array, object: Uint8Array): Promise<{ contentKey: Uint8Array; commitment: Uint8Array }> {
  const preamble = object.subarray(0, 60)
  const salt = object.subarray(20, 52)
  const ikm = await crypto.subtle.importKey('raw', ab(dek), 'HKDF', false, ['deriveBits'])
  const derive = async (label: string): Promise<Uint8Array> => {
    const l = te.encode(label)
    const info = new Uint8Array(l.length + preamble.length)
    info.set(l)
    info.set(preamble, l.length)
    return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: ab(salt), info: ab(info) }, ikm, 256))
  }
  return { contentKey: await derive('bucketseal/v1/content-key'), commitment: await derive('bucketseal/v1/commitment') }
}

/** Decrypts a whole object given its DEK, following FORMAT.md step by step. Throws on any failure. */
export async function specDecrypt(dek: Uint8Array, object: Uint8Array): Promise<Uint8Array> {
  const view = new DataView(object.buffer, object.byteOffset, object.byteLength)
  const chunkSize = view.getUint32(8)
  const headerLength = view.getUint32(92)
  const { contentKey, commitment } = await specDerive(dek, object)
  if (hex(commitment) !== hex(object.subarray(60, 92))) throw new Error('commitment mismatch')
  const key = await crypto.subtle.importKey('raw', ab(contentKey), 'AES-GCM', false, ['decrypt'])
  const prefix = object.subarray(52, 59)
  const body = object.subarray(headerLength)
  const unit = chunkSize + 16
  const out: number[] = []
  for (let i = 0, o = 0; o < body.length; i++, o += unit) {
    const last = o + unit >= body.length
    const nonce = new Uint8Array(12)
    nonce.set(prefix)
    new DataView(nonce.buffer).setUint32(7, i)
    nonce[11] = last ? 1 : 0
    const plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce }, key, ab(body.subarray(o, o + unit))))
    out.push(...plain)
  }
  return new Uint8Array(out)
}

/** Recovers the DEK from an AES-KW stanza with the raw KEK (type 0x02 body: key id ‖ wrapped). */
export async function specUnwrapAesKw(kekRaw: Uint8Array, stanzaBody: Uint8Array): Promise<Uint8Array> {
  const kek = await crypto.subtle.importKey('raw', ab(kekRaw), 'AES-KW', false, ['unwrapKey'])
  const dek = await crypto.subtle.unwrapKey('raw', ab(stanzaBody.subarray(16)), kek, 'AES-KW', 'AES-GCM', true, ['encrypt'])
  return new Uint8Array(await crypto.subtle.exportKey('raw', dek))
}

export function specLabel(): string {
  return 'bucketseal/v1/dek'
}

// ---- A deterministic writer, from FORMAT.md §2–§6 and §11, for the rule vectors ----

const enc = (text: string): Uint8Array => te.encode(text)

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n >> 8, n & 255])
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', ab(bytes)))
}

export interface SpecStanza {
  readonly type: number
  readonly body: Uint8Array
}

/** §4 type 0x02: keyId ‖ AES-KW(KEK, DEK); AES-KW is deterministic. */
export async function specAesKwStanza(kekRaw: Uint8Array, dek: Uint8Array): Promise<SpecStanza> {
  const kek = await crypto.subtle.importKey('raw', ab(kekRaw), 'AES-KW', false, ['wrapKey'])
  const wrap = async (bytes: Uint8Array): Promise<Uint8Array> =>
    new Uint8Array(await crypto.subtle.wrapKey('raw', await crypto.subtle.importKey('raw', ab(bytes), 'AES-GCM', true, ['encrypt']), kek, 'AES-KW'))
  const keyId = (await sha256(cat(enc('bucketseal/v1/aes-kw-key-id'), await wrap(new Uint8Array(32))))).subarray(0, 16)
  return { type: 2, body: cat(keyId, await wrap(dek)) }
}

/** §4 type 0x03: salt ‖ iterations ‖ AES-KW(PBKDF2(NFC(passphrase)), DEK). */
export async function specPassphraseStanza(passphrase: string, salt: Uint8Array, iterations: number, dek: Uint8Array): Promise<SpecStanza> {
  const base = await crypto.subtle.importKey('raw', ab(enc(passphrase.normalize('NFC'))), 'PBKDF2', false, ['deriveBits'])
  const kekRaw = new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: ab(salt), iterations }, base, 256))
  const kek = await crypto.subtle.importKey('raw', ab(kekRaw), 'AES-KW', false, ['wrapKey'])
  const wrapped = new Uint8Array(await crypto.subtle.wrapKey('raw', await crypto.subtle.importKey('raw', ab(dek), 'AES-GCM', true, ['encrypt']), kek, 'AES-KW'))
  return { type: 3, body: cat(salt, u32(iterations), wrapped) }
}

/** The local adapter's AAD (§11): UTF-8 of JSON [keyName, [[name, value], …]] sorted by name. */
export function specKmsAad(keyName: string): Uint8Array {
  return enc(JSON.stringify([keyName, [['purpose', 'bucketseal/v1/dek']]]))
}

/** §11 type 0x04 with the local adapter's blob, `01 ‖ nonce ‖ AES-GCM(key, nonce, DEK, aad)`. */
export async function specKmsStanza(kmsKeyRaw: Uint8Array, keyName: string, nonce: Uint8Array, dek: Uint8Array): Promise<SpecStanza> {
  const key = await crypto.subtle.importKey('raw', ab(kmsKeyRaw), 'AES-GCM', false, ['encrypt'])
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: ab(nonce), additionalData: ab(specKmsAad(keyName)) }, key, ab(dek)))
  const name = enc(keyName)
  const keyId = (await sha256(cat(enc('bucketseal/v1/kms-key-id'), name))).subarray(0, 16)
  return { type: 4, body: cat(keyId, u16(name.length), name, new Uint8Array([1]), nonce, sealed) }
}

/** The local adapter's decrypt, as a test KMS client would run it. Throws on a blob that does not open. */
export async function specKmsDecrypt(kmsKeyRaw: Uint8Array, keyName: string, blob: Uint8Array): Promise<Uint8Array> {
  if (blob.length < 29 || blob[0] !== 1) throw new Error('not a local-adapter blob')
  const key = await crypto.subtle.importKey('raw', ab(kmsKeyRaw), 'AES-GCM', false, ['decrypt'])
  return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ab(blob.subarray(1, 13)), additionalData: ab(specKmsAad(keyName)) }, key, ab(blob.subarray(13))))
}

function b64url(text: string): Uint8Array {
  return unb64(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='))
}

function toBig(bytes: Uint8Array): bigint {
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n)
}

function fromBig(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = length - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 255n)
  return out
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n
  for (let b = base % mod, e = exp; e > 0n; e >>= 1n, b = (b * b) % mod) if (e & 1n) r = (r * b) % mod
  return r
}

async function mgf1(seed: Uint8Array, length: number): Promise<Uint8Array> {
  const out: Uint8Array[] = []
  for (let i = 0; out.length * 32 < length; i++) out.push(await sha256(cat(seed, u32(i))))
  return cat(...out).subarray(0, length)
}

/**
 * §4 type 0x01 with RSAES-OAEP (RFC 8017 §7.1.1) written out, so the seed can be fixed and the
 * vectors regenerate byte for byte (WebCrypto draws it at random).
 */
export async function specRsaStanza(spki: Uint8Array, seed: Uint8Array, dek: Uint8Array): Promise<SpecStanza> {
  const publicKey = await crypto.subtle.importKey('spki', ab(spki), { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt'])
  const jwk = await crypto.subtle.exportKey('jwk', publicKey)
  const n = b64url(jwk.n ?? '')
  const k = n[0] === 0 ? n.length - 1 : n.length
  const lHash = await sha256(enc('bucketseal/v1/dek'))
  const db = cat(lHash, new Uint8Array(k - 2 * 32 - 2 - dek.length), new Uint8Array([1]), dek)
  const dbMask = await mgf1(seed, db.length)
  const maskedDb = db.map((b, i) => b ^ (dbMask[i] ?? 0))
  const seedMask = await mgf1(maskedDb, 32)
  const maskedSeed = seed.map((b, i) => b ^ (seedMask[i] ?? 0))
  const em = cat(new Uint8Array([0]), maskedSeed, maskedDb)
  const c = fromBig(modPow(toBig(em), toBig(b64url(jwk.e ?? '')), toBig(n)), k)
  const keyId = (await sha256(spki)).subarray(0, 16)
  return { type: 1, body: cat(keyId, c) }
}

export interface SpecObject {
  readonly dek: Uint8Array
  readonly salt: Uint8Array
  readonly noncePrefix: Uint8Array
  readonly chunkSize: number
  readonly plaintext: Uint8Array
  /** false: written as streamed (length all ones). */
  readonly knownLength: boolean
  readonly flags: number
  /** The metadata plaintext, sealed as is (any bytes, for negative vectors); null: none. */
  readonly metadata: Uint8Array | null
  readonly stanzas: readonly SpecStanza[]
}

/** §2, §3, §5, §6: header ‖ chunks, every random field given. */
export async function specWrite(o: SpecObject): Promise<Uint8Array> {
  const preamble = new Uint8Array(60)
  const pv = new DataView(preamble.buffer)
  preamble.set([0x42, 0x4b, 0x53, 0x4c, 1, 1])
  pv.setUint16(6, o.flags)
  pv.setUint32(8, o.chunkSize)
  pv.setBigUint64(12, o.knownLength ? BigInt(o.plaintext.length) : 0xffff_ffff_ffff_ffffn)
  preamble.set(o.salt, 20)
  preamble.set(o.noncePrefix, 52)
  const { contentKey, commitment } = await specDerive(o.dek, preamble)
  const key = await crypto.subtle.importKey('raw', ab(contentKey), 'AES-GCM', false, ['encrypt'])
  const seal = async (i: number, flag: number, data: Uint8Array): Promise<Uint8Array> => {
    const iv = cat(o.noncePrefix, u32(i), new Uint8Array([flag]))
    return new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: ab(iv) }, key, ab(data)))
  }
  const sealedMetadata = o.metadata === null ? new Uint8Array(0) : await seal(0, 2, o.metadata)
  const entries = cat(u16(o.stanzas.length), ...o.stanzas.map((s) => cat(new Uint8Array([s.type]), u16(s.body.length), s.body)))
  const header = cat(preamble, commitment, u32(100 + sealedMetadata.length + entries.length), u32(sealedMetadata.length), sealedMetadata, entries)
  const n = Math.max(1, Math.ceil(o.plaintext.length / o.chunkSize))
  const chunks: Uint8Array[] = []
  for (let i = 0; i < n; i++) chunks.push(await seal(i, i === n - 1 ? 1 : 0, o.plaintext.subarray(i * o.chunkSize, (i + 1) * o.chunkSize)))
  return cat(header, ...chunks)
}

// ---- A reader that follows the opening rules of FORMAT.md §2, §4, §5 and §6 ----

/** One key of the rule vectors, in raw form. */
export type SpecKey =
  | { readonly kind: 'aes-kw'; readonly raw: Uint8Array }
  | { readonly kind: 'rsa-oaep'; readonly pkcs8: Uint8Array; readonly spki: Uint8Array }
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  | { readonly kind: 'kms'; readonly raw: Uint8Array; readonly keyName: string }

export class SpecError extends Error {
  constructor(readonly code: string, readonly keyIds: readonly string[] = []) {
    super(code)
  }
}

const RANK: Readonly<Record<string, number>> = { BAD_HEADER: 5, KMS_UNAVAILABLE: 4, KMS_FAILED: 4, COMMITMENT_MISMATCH: 3, TAMPERED: 2 }

/** §2 "Reading a header", in its order; returns the parsed fields. */
function specParseHeader(object: Uint8Array): { headerLength: number; flags: number; chunkSize: number; length: bigint; metadataLength: number; stanzas: SpecStanza[] } {
  const magic = [0x42, 0x4b, 0x53, 0x4c]
  for (let i = 0; i < Math.min(4, object.length); i++) if (object[i] !== magic[i]) throw new SpecError('BAD_HEADER')
  if (object.length < 6) throw new SpecError('TRUNCATED')
  if (object[4] !== 1 || object[5] !== 1) throw new SpecError('UNSUPPORTED_VERSION')
  if (object.length < 96) throw new SpecError('TRUNCATED')
  const v = new DataView(object.buffer, object.byteOffset, object.length)
  const flags = v.getUint16(6)
  const chunkSize = v.getUint32(8)
  const length = v.getBigUint64(12)
  if ((flags & ~1) !== 0 || object[59] !== 0) throw new SpecError('BAD_HEADER')
  if (chunkSize < 1024 || chunkSize > 1 << 24 || (chunkSize & (chunkSize - 1)) !== 0) throw new SpecError('BAD_HEADER')
  if (length !== 0xffff_ffff_ffff_ffffn && (length > 2n ** 53n - 1n || length > 2n ** 32n * BigInt(chunkSize))) throw new SpecError('BAD_HEADER')
  const headerLength = v.getUint32(92)
  if (headerLength < 105 || headerLength > 1 << 20) throw new SpecError('BAD_HEADER')
  if (object.length < headerLength) throw new SpecError('TRUNCATED')
  const metadataLength = v.getUint32(96)
  if (metadataLength !== 0 && (metadataLength < 18 || metadataLength > 65552)) throw new SpecError('BAD_HEADER')
  if (100 + metadataLength + 2 > headerLength) throw new SpecError('BAD_HEADER')
  let at = 100 + metadataLength
  const count = v.getUint16(at)
  at += 2
  if (count === 0 || count > 1024) throw new SpecError('BAD_HEADER')
  const stanzas: SpecStanza[] = []
  for (let i = 0; i < count; i++) {
    if (at + 3 > headerLength) throw new SpecError('BAD_HEADER')
    const type = v.getUint8(at)
    const bodyLength = v.getUint16(at + 1)
    at += 3
    if (at + bodyLength > headerLength) throw new SpecError('BAD_HEADER')
    stanzas.push({ type, body: object.slice(at, at + bodyLength) })
    at += bodyLength
  }
  if (at !== headerLength) throw new SpecError('BAD_HEADER')
  if ((flags & 1) === 1 && metadataLength === 0) throw new SpecError('TAMPERED')
  return { headerLength, flags, chunkSize, length, metadataLength, stanzas }
}

/** §4 "Opening": every candidate data key one key yields, with the failures it records. */
async function* specCandidates(key: SpecKey, stanzas: readonly SpecStanza[], fail: (code: string) => void): AsyncGenerator<Uint8Array> {
  const idOf = (s: SpecStanza): string => hex(s.body.subarray(0, 16))
  if (key.kind === 'aes-kw') {
    const id = hex((await specAesKwStanza(key.raw, new Uint8Array(32))).body.subarray(0, 16))
    for (const s of stanzas) {
      if (s.type !== 2 || s.body.length < 16 || idOf(s) !== id) continue
      try {
        if (s.body.length !== 56) throw new Error('length')
        yield await specUnwrapAesKw(key.raw, s.body)
      } catch {
        fail('TAMPERED')
      }
    }
  } else if (key.kind === 'rsa-oaep') {
    const id = hex((await sha256(key.spki)).subarray(0, 16))
    const privateKey = await crypto.subtle.importKey('pkcs8', ab(key.pkcs8), { name: 'RSA-OAEP', hash: 'SHA-256' }, false, ['decrypt'])
    const k = (await specRsaStanza(key.spki, new Uint8Array(32), new Uint8Array(32))).body.length - 16
    for (const s of stanzas) {
      if (s.type !== 1 || s.body.length < 16 || idOf(s) !== id) continue
      let dek: Uint8Array | null = null
      try {
        if (s.body.length === 16 + k) dek = new Uint8Array(await crypto.subtle.decrypt({ name: 'RSA-OAEP', label: ab(enc('bucketseal/v1/dek')) }, privateKey, ab(s.body.subarray(16))))
      } catch {
        dek = null
      }
      if (dek === null || dek.length !== 32) fail('TAMPERED')
      else yield dek
    }
  } else if (key.kind === 'passphrase') {
    let tries = 0
    let work = 0
    let refused = false
    for (const s of stanzas) {
      if (s.type !== 3 || s.body.length !== 60) continue
      const it = new DataView(s.body.buffer, s.body.byteOffset).getUint32(16)
      if (it < 600_000) continue
      if (it > 2_000_000) {
        refused = true
        continue
      }
      if (tries + 1 > 8 || work + it > 4_800_000) {
        refused = true
        break
      }
      tries++
      work += it
      const base = await crypto.subtle.importKey('raw', ab(enc(key.passphrase.normalize('NFC'))), 'PBKDF2', false, ['deriveBits'])
      const kek = new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: ab(s.body.subarray(0, 16)), iterations: it }, base, 256))
      try {
        yield await specUnwrapAesKw(kek, cat(new Uint8Array(16), s.body.subarray(20)))
      } catch {
        // a wrong passphrase: nothing to record
      }
    }
    if (refused) fail('BAD_HEADER')
  } else {
    const name = enc(key.keyName)
    const id = hex((await sha256(cat(enc('bucketseal/v1/kms-key-id'), name))).subarray(0, 16))
    let tries = 0
    for (const s of stanzas) {
      if (s.type !== 4 || s.body.length < 18) continue
      const nameLength = new DataView(s.body.buffer, s.body.byteOffset).getUint16(16)
      const blob = s.body.subarray(18 + nameLength)
      if (nameLength === 0 || nameLength > 512 || 18 + nameLength > s.body.length || blob.length < 1 || blob.length > 8192) continue
      if (hex(s.body.subarray(18, 18 + nameLength)) !== hex(name) || idOf(s) !== id) continue
      if (++tries > 4) {
        fail('BAD_HEADER')
        return
      }
      let dek: Uint8Array
      try {
        dek = await specKmsDecrypt(key.raw, key.keyName, blob)
      } catch {
        fail('TAMPERED')
        continue
      }
      if (dek.length === 32) yield dek
      else fail('TAMPERED')
    }
  }
}

/** §6 "Reading the metadata". */
function specMetadata(bytes: Uint8Array): unknown {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new SpecError('BAD_HEADER')
  let text: string
  let m: unknown
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
    m = JSON.parse(text)
  } catch {
    throw new SpecError('BAD_HEADER')
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new SpecError('BAD_HEADER')
  // Duplicate names: JSON.parse keeps the last; the format refuses them. Every quoted name in the
  // text must be a member of some object of the parsed value. Lone surrogates: refused anywhere.
  const names = [...text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)].length
  let members = 0
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/
  const walk = (x: unknown): void => {
    if (typeof x === 'string' && lone.test(x)) throw new SpecError('BAD_HEADER')
    if (typeof x !== 'object' || x === null) return
    if (!Array.isArray(x)) members += Object.keys(x).length
    for (const [k, y] of Object.entries(x)) {
      if (lone.test(k)) throw new SpecError('BAD_HEADER')
      walk(y)
    }
  }
  walk(m)
  if (names !== members) throw new SpecError('BAD_HEADER')
  const r = new Map(Object.entries(m))
  for (const k of ['name', 'type']) if (r.has(k) && typeof r.get(k) !== 'string') throw new SpecError('BAD_HEADER')
  if (r.has('lastModified')) {
    const raw = /"lastModified"\s*:\s*(-?[0-9.eE+]+)/.exec(text)?.[1] ?? ''
    if (!/^-?(0|[1-9][0-9]*)$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new SpecError('BAD_HEADER')
  }
  const f = r.get('fields')
  if (f !== undefined && (typeof f !== 'object' || f === null || Array.isArray(f) || Object.values(f).some((x) => typeof x !== 'string'))) throw new SpecError('BAD_HEADER')
  const out: Record<string, unknown> = {}
  for (const k of ['name', 'type', 'lastModified', 'fields']) if (r.has(k)) out[k] = r.get(k)
  return out
}

/** §5 "Reading chunks", sequentially: the first failing position decides. */
async function specChunks(key: CryptoKey, prefix: Uint8Array, chunkSize: number, length: bigint, body: Uint8Array): Promise<Uint8Array> {
  const U = chunkSize + 16
  const open = async (i: number, last: boolean, c: Uint8Array): Promise<Uint8Array | null> => {
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ab(cat(prefix, u32(i), new Uint8Array([last ? 1 : 0]))) }, key, ab(c)))
    } catch {
      return null
    }
  }
  const out: Uint8Array[] = []
  if (length !== 0xffff_ffff_ffff_ffffn) {
    const L = Number(length)
    const n = Math.max(1, Math.ceil(L / chunkSize))
    const E = L - (n - 1) * chunkSize + 16
    for (let i = 0; i < n; i++) {
      const r = body.length - i * U
      const last = i === n - 1
      if (!last && r < U) throw new SpecError('TRUNCATED')
      if (last && r < E) throw new SpecError('TRUNCATED')
      if (last && r > E) throw new SpecError('TAMPERED')
      const p = await open(i, last, body.subarray(i * U, i * U + (last ? E : U)))
      if (p === null) throw new SpecError('TAMPERED')
      out.push(p)
    }
    return cat(...out)
  }
  for (let i = 0; ; i++) {
    const r = body.length - i * U
    if (r > U) {
      const p = await open(i, false, body.subarray(i * U, (i + 1) * U))
      if (p === null) throw new SpecError('TAMPERED')
      out.push(p)
      continue
    }
    if (r < 16) throw new SpecError('TRUNCATED')
    const c = body.subarray(i * U)
    const p = await open(i, true, c)
    if (p !== null) {
      if (p.length === 0 && i > 0) throw new SpecError('TAMPERED')
      out.push(p)
      return cat(...out)
    }
    if (r === U && (await open(i, false, c)) !== null) throw new SpecError('TRUNCATED')
    throw new SpecError('TAMPERED')
  }
}

/** Opens a whole object with the keys, in order, by the rules; throws a SpecError with the code. */
export async function specOpen(object: Uint8Array, keys: readonly SpecKey[]): Promise<{ plaintext: Uint8Array; metadata: unknown }> {
  const h = specParseHeader(object)
  let worst: string | null = null
  const fail = (code: string): void => {
    if (worst === null || (RANK[code] ?? 1) > (RANK[worst] ?? 1)) worst = code
  }
  for (const key of keys) {
    for await (const dek of specCandidates(key, h.stanzas, fail)) {
      const { contentKey, commitment } = await specDerive(dek, object)
      if (hex(commitment) !== hex(object.subarray(60, 92))) {
        fail('COMMITMENT_MISMATCH')
        continue
      }
      const ck = await crypto.subtle.importKey('raw', ab(contentKey), 'AES-GCM', false, ['decrypt'])
      let metadata: unknown = null
      if (h.metadataLength > 0) {
        let plain: Uint8Array
        try {
          plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: ab(cat(object.subarray(52, 59), u32(0), new Uint8Array([2]))) }, ck, ab(object.subarray(100, 100 + h.metadataLength))))
        } catch {
          throw new SpecError('TAMPERED')
        }
        metadata = specMetadata(plain)
      }
      return { plaintext: await specChunks(ck, object.subarray(52, 59), h.chunkSize, h.length, object.subarray(h.headerLength)), metadata }
    }
  }
  if (worst !== null) throw new SpecError(worst)
  const ids = h.stanzas.filter((s) => (s.type === 1 || s.type === 2 || s.type === 4) && s.body.length >= 16).map((s) => hex(s.body.subarray(0, 16)))
  throw new SpecError('WRONG_KEY', [...new Set(ids)])
}
