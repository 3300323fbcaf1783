/// <reference types="node" />
// The rule vectors regenerate byte for byte from rule-vectors.ts (a test that can fail: a change to
// the writer or to the file shows here). BUCKETSEAL_WRITE_RULE_VECTORS=1 writes them instead.
import { readFile, writeFile } from 'node:fs/promises'
import { expect, it } from 'vitest'
import { buildRuleVectors } from './rule-vectors.js'

const files = { rules: new URL('./vectors/rules.json', import.meta.url), mirror: new URL('./vectors/mirror.json', import.meta.url) }

it('rules.json and mirror.json regenerate deterministically', async () => {
  const built = await buildRuleVectors()
  for (const name of ['rules', 'mirror'] as const) {
    const text = `${JSON.stringify(built[name], null, 1)}\n`
    if (process.env.BUCKETSEAL_WRITE_RULE_VECTORS === '1') await writeFile(files[name], text)
    expect(await readFile(files[name], 'utf8')).toBe(text)
  }
}, 120_000)
