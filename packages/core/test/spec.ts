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
