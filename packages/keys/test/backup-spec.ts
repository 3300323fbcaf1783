// A second, deliberately naive reader and writer of the key backup file, written from docs/FORMAT.md
// ("Key backup file") alone on raw WebCrypto, so that the tests check the library against the spec
// and not only against itself. It handles secret key bytes: test code only.

export interface SpecBackup {
  readonly type: number
  readonly keyId: string
  readonly iterations: number
  readonly createdAt: number
  readonly name: string
  readonly spki: Uint8Array<ArrayBuffer>
  readonly secret: Uint8Array<ArrayBuffer>
}

export const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
const unhex = (text: string): Uint8Array => Uint8Array.from(text.match(/../g) ?? [], (h) => Number.parseInt(h, 16))

async function specKeys(passphrase: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<{ check: Uint8Array; aead: CryptoKey }> {
  const pbkdf2 = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase.normalize('NFC')), 'PBKDF2', false, ['deriveBits'])
  const ikmBytes = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, pbkdf2, 256)
  const ikm = await crypto.subtle.importKey('raw', ikmBytes, 'HKDF', false, ['deriveBits'])
  const hkdf = async (label: string, bits: number): Promise<Uint8Array<ArrayBuffer>> =>
    new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(label) }, ikm, bits))
  const check = await hkdf('bucketseal/key-backup/v1/check', 128)
  const aead = await crypto.subtle.importKey('raw', await hkdf('bucketseal/key-backup/v1/key', 256), 'AES-GCM', false, ['encrypt', 'decrypt'])
  return { check, aead }
}

async function specChecksum(file: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', file.subarray(0, file.length - 16))).subarray(0, 16)
}

export async function specOpenBackup(fileIn: Uint8Array, passphrase: string): Promise<SpecBackup> {
  const file = new Uint8Array(fileIn)
  const view = new DataView(file.buffer)
  if (hex(file.subarray(0, 4)) !== '424b534b') throw new Error('magic') // "BKSK"
  if (file[4] !== 1 || file[6] !== 0 || file[7] !== 0) throw new Error('version or reserved')
  if (hex(await specChecksum(file)) !== hex(file.subarray(file.length - 16))) throw new Error('checksum')
  const iterations = view.getUint32(24)
  const { check, aead } = await specKeys(passphrase, file.slice(28, 44), iterations)
  if (hex(check) !== hex(file.subarray(44, 60))) throw new Error('passphrase')
  const payload = new Uint8Array(
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv: file.slice(60, 72), additionalData: file.slice(0, 72) }, aead, file.slice(72, file.length - 16)),
  )
  const pv = new DataView(payload.buffer)
  const nameLength = pv.getUint16(8)
  const name = new TextDecoder().decode(payload.subarray(10, 10 + nameLength))
  let rest = payload.slice(10 + nameLength)
  let spki = new Uint8Array(0)
  if (file[5] === 1) {
    const spkiLength = new DataView(rest.buffer).getUint16(0)
    spki = rest.slice(2, 2 + spkiLength)
    rest = rest.slice(2 + spkiLength)
  }
  return { type: file[5] ?? 0, keyId: hex(file.subarray(8, 24)), iterations, createdAt: Number(pv.getBigUint64(0)), name, spki, secret: rest }
}

/** `fixed` gives the salt and nonce (vectors); without it they are random, as a writer draws them. */
export async function specSealBackup(b: SpecBackup, passphrase: string, fixed?: { readonly salt: Uint8Array; readonly nonce: Uint8Array }): Promise<Uint8Array<ArrayBuffer>> {
  const name = new TextEncoder().encode(b.name)
  const payload = new Uint8Array(10 + name.length + (b.type === 1 ? 2 + b.spki.length : 0) + b.secret.length)
  const pv = new DataView(payload.buffer)
  pv.setBigUint64(0, BigInt(b.createdAt))
  pv.setUint16(8, name.length)
  payload.set(name, 10)
  let at = 10 + name.length
  if (b.type === 1) {
    pv.setUint16(at, b.spki.length)
    payload.set(b.spki, at + 2)
    at += 2 + b.spki.length
  }
  payload.set(b.secret, at)
  const header = new Uint8Array(72)
  header.set([0x42, 0x4b, 0x53, 0x4b, 1, b.type, 0, 0])
  header.set(unhex(b.keyId), 8)
  new DataView(header.buffer).setUint32(24, b.iterations)
  const salt = fixed === undefined ? crypto.getRandomValues(new Uint8Array(16)) : new Uint8Array(fixed.salt)
  header.set(salt, 28)
  const { check, aead } = await specKeys(passphrase, salt, b.iterations)
  header.set(check, 44)
  header.set(fixed === undefined ? crypto.getRandomValues(new Uint8Array(12)) : fixed.nonce, 60)
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: header.slice(60, 72), additionalData: header }, aead, payload))
  const file = new Uint8Array(72 + sealed.length + 16)
  file.set(header)
  file.set(sealed, 72)
  file.set(await specChecksum(file), file.length - 16)
  return file
}

/** Rewrites the trailing checksum, as an attacker (not a damaged disk) would after editing a file. */
export async function fixChecksum(file: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  file.set(await specChecksum(file), file.length - 16)
  return file
}
