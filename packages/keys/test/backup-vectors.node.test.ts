/// <reference types="node" />
// backup.json regenerates byte for byte from backup-vectors.ts; BUCKETSEAL_WRITE_BACKUP_VECTORS=1 writes it.
import { readFile, writeFile } from 'node:fs/promises'
import { expect, it } from 'vitest'
import { buildBackupVectors } from './backup-vectors.js'

it('backup.json regenerates deterministically', async () => {
  const url = new URL('./vectors/backup.json', import.meta.url)
  const text = `${JSON.stringify(await buildBackupVectors(), null, 1)}\n`
  if (process.env.BUCKETSEAL_WRITE_BACKUP_VECTORS === '1') await writeFile(url, text)
  expect(await readFile(url, 'utf8')).toBe(text)
}, 120_000)
