// Builds test/vectors/backup.json: key backup files (docs/FORMAT.md §10) written by backup-spec.ts
// with fixed salts and nonces, and edited copies with the code a reader must give. Deterministic,
// so backup-vectors.node.test.ts checks the checked-in file regenerates byte for byte. The RSA key
// pair is the one of core's v1.json vectors. Test code only.
import { aesKwKeyId, importAesKwKey } from '@bucketseal/core'
import v1 from '../../core/test/vectors/v1.json'
import { fixChecksum, hex, specSealBackup } from './backup-spec.js'

export const VECTOR_PASSPHRASE = 'correct horse battery staple'

function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

const b64 = (b: Uint8Array): string => btoa(String.fromCharCode(...b))
const unb64 = (t: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(t), (c) => c.charCodeAt(0))

export async function buildBackupVectors(): Promise<unknown> {
  const kwRaw = bytes(32, 1)
  const kwId = await aesKwKeyId(await importAesKwKey(kwRaw))
  const spki = unb64(v1.keys.rsa.spki)
  const pkcs8 = unb64(v1.keys.rsa.pkcs8)
  const rsaId = hex(new Uint8Array(await crypto.subtle.digest('SHA-256', spki)).subarray(0, 16))
  const createdAt = 1_700_000_000_000
  const fixed = { salt: bytes(16, 2), nonce: bytes(12, 3) }
  const aesFile = await specSealBackup({ type: 2, keyId: kwId, iterations: 600_000, createdAt, name: 'Vector AES-KW key', spki: new Uint8Array(0), secret: kwRaw }, VECTOR_PASSPHRASE, fixed)
  const rsaFile = await specSealBackup({ type: 1, keyId: rsaId, iterations: 600_000, createdAt, name: 'Vector RSA key ✓', spki, secret: pkcs8 }, VECTOR_PASSPHRASE, fixed)
  const wrongId = await specSealBackup({ type: 2, keyId: '00'.repeat(16), iterations: 600_000, createdAt, name: 'Mislabelled', spki: new Uint8Array(0), secret: kwRaw }, VECTOR_PASSPHRASE, fixed)
  const vectors: Record<string, unknown>[] = []
  const add = (name: string, comment: string, file: Uint8Array, expect: string, extra: Record<string, unknown> = {}): void => {
    vectors.push({ name, comment, file: b64(file), passphrase: VECTOR_PASSPHRASE, expect, ...extra })
  }
  const edit = async (file: Uint8Array, at: number, value: number, checksum: boolean): Promise<Uint8Array> => {
    const c = new Uint8Array(file)
    c[at] = value
    return checksum ? fixChecksum(c) : c
  }
  add('aes-kw', 'an AES-KW key backup', aesFile, 'ok', { keyId: kwId, algorithm: 'A256KW', keyName: 'Vector AES-KW key', createdAt, iterations: 600_000 })
  add('rsa', 'an RSA-OAEP-256 key pair backup (core v1.json key), non-ASCII name', rsaFile, 'ok', { keyId: rsaId, algorithm: 'RSA-OAEP-256', keyName: 'Vector RSA key ✓', createdAt, iterations: 600_000 })
  vectors.push({ name: 'wrong-passphrase', comment: 'the AES-KW backup with another passphrase', file: b64(aesFile), passphrase: 'Tr0ub4dor&3', expect: 'WRONG_PASSPHRASE' })
  add('damaged-salt', 'a salt byte changed, checksum not fixed (damage)', await edit(aesFile, 30, (aesFile[30] ?? 0) ^ 1, false), 'BAD_BACKUP')
  add('version-2', 'version byte 2, checksum fixed', await edit(aesFile, 4, 2, true), 'BAD_BACKUP')
  add('reserved', 'reserved byte 7 set, checksum fixed', await edit(aesFile, 7, 1, true), 'BAD_BACKUP')
  add('key-type-3', 'key type 3, checksum fixed', await edit(aesFile, 5, 3, true), 'BAD_BACKUP')
  const over = new Uint8Array(aesFile)
  new DataView(over.buffer).setUint32(24, 20_000_001)
  add('iterations-over', '20,000,001 iterations, checksum fixed: refused before PBKDF2 runs', await fixChecksum(over), 'BAD_BACKUP')
  add('ciphertext-edited', 'a payload byte changed, checksum fixed (deliberate editing)', await edit(aesFile, 80, (aesFile[80] ?? 0) ^ 1, true), 'BAD_BACKUP')
  add('key-id-mismatch', 'authentic, but the header names another key id', wrongId, 'BAD_BACKUP')
  add('short', '146 bytes: below the 147 of the shortest backup', aesFile.slice(0, 146), 'BAD_BACKUP')
  return { description: 'Bucketseal key backup vectors (docs/FORMAT.md §10). See README.md beside this file.', vectors }
}
