// The key backup vectors (vectors/backup.json), in every runtime: the library's reader and
// backup-spec.ts (written from FORMAT.md §10) both open the good files, and the library gives each
// edited file its code.
import { decrypt, encrypt } from '@bucketseal/core'
import { describe, expect, it } from 'vitest'
import { openBackup } from '../src/backup.js'
import { readBackupInfo } from '../src/index.js'
import { hex, specOpenBackup } from './backup-spec.js'
import file from './vectors/backup.json'

interface BackupVector {
  readonly name: string
  readonly file: string
  readonly passphrase: string
  readonly expect: string
  readonly keyId?: string
  readonly algorithm?: string
  readonly keyName?: string
  readonly createdAt?: number
  readonly iterations?: number
}

const vectors: readonly BackupVector[] = file.vectors
const unb64 = (t: string): Uint8Array => Uint8Array.from(atob(t), (c) => c.charCodeAt(0))

describe('key backup vectors', () => {
  it.for(vectors.map((v) => [v.name, v] as const))('%s', async ([, v]) => {
    const bytes = unb64(v.file)
    if (v.expect !== 'ok') {
      await expect(openBackup(bytes, v.passphrase)).rejects.toMatchObject({ code: v.expect })
      return
    }
    expect(await readBackupInfo(bytes)).toEqual({ version: 1, id: v.keyId, algorithm: v.algorithm, iterations: v.iterations })
    const key = await openBackup(bytes, v.passphrase)
    expect(key).toMatchObject({ id: v.keyId, algorithm: v.algorithm, name: v.keyName, createdAt: v.createdAt })
    const spec = await specOpenBackup(bytes, v.passphrase)
    expect(spec).toMatchObject({ keyId: v.keyId, name: v.keyName, createdAt: v.createdAt })
    // The restored key works: what is encrypted to it opens with it.
    const recipient = key.algorithm === 'RSA-OAEP-256' ? key.publicKey : key.key
    const identity = key.algorithm === 'RSA-OAEP-256' ? { privateKey: key.privateKey, publicKey: key.publicKey } : key.key
    const sealed = await encrypt(new Uint8Array([1, 2, 3]), { recipients: [recipient] })
    expect(hex(await decrypt(sealed, identity))).toBe('010203')
  })
})
