// Builds test/vectors/rules.json and test/vectors/mirror.json: the vectors of FORMAT.md's reading
// rules (§2 header, §4 opening, §5 chunks, §6 metadata, §7 mirror, §11 KMS). Deterministic: every
// random field comes from `pattern` and RSA-OAEP is written out with a fixed seed (spec.ts), so
// `rules-vectors.node.test.ts` can check that the checked-in files regenerate byte for byte.
// The RSA key is the one of v1.json. Test code only.
import { headerToMetadata } from '../src/index.js'
import { pattern } from './helpers.js'
import { type SpecObject, type SpecStanza, b64, hex, specAesKwStanza, specKmsStanza, specPassphraseStanza, specRsaStanza, specWrite, unb64 } from './spec.js'
import v1 from './vectors/v1.json'

const C = 1024
const te = new TextEncoder()

export const KMS_KEY_NAME = 'alias/bucketseal-vectors'

export async function buildRuleVectors(): Promise<{ rules: unknown; mirror: unknown }> {
  const kw = pattern(32, 2024) // v1.json's "aeskw"
  const kwOther = pattern(32, 7) // v1.json's "aeskw-other"
  const kms = pattern(32, 4242)
  const pass = 'correct horse battery staple'
  const spki = unb64(v1.keys.rsa.spki)
  const keys = {
    aeskw: { kind: 'aes-kw', raw: hex(kw) },
    'aeskw-other': { kind: 'aes-kw', raw: hex(kwOther) },
    rsa: { kind: 'rsa-oaep', pkcs8: v1.keys.rsa.pkcs8, spki: v1.keys.rsa.spki },
    passphrase: { kind: 'passphrase', passphrase: pass },
    kms: { kind: 'kms', raw: hex(kms), keyName: KMS_KEY_NAME },
  }
  const dek = pattern(32, 1)
  const otherDek = pattern(32, 2)
  let seed = 100
  const next = (n: number): Uint8Array => pattern(n, seed++)
  const base = (over: Partial<SpecObject> = {}): SpecObject => ({
    dek,
    salt: pattern(32, 11),
    noncePrefix: pattern(7, 12),
    chunkSize: C,
    plaintext: pattern(2500, 13),
    knownLength: true,
    flags: 0,
    metadata: null,
    stanzas: [],
    ...over,
  })
  const aes = (k = kw, d = dek): Promise<SpecStanza> => specAesKwStanza(k, d)
  const garbage = async (s: Promise<SpecStanza>, at: number): Promise<SpecStanza> => {
    const { type, body } = await s
    const b = body.slice()
    b[at] = (b[at] ?? 0) ^ 0x55
    return { type, body: b }
  }
  const cut = async (s: Promise<SpecStanza>, length: number): Promise<SpecStanza> => {
    const { type, body } = await s
    return { type, body: body.slice(0, length) }
  }
  const rsa = (d = dek): Promise<SpecStanza> => specRsaStanza(spki, next(32), d)
  const pp = (iterations: number, d = dek): Promise<SpecStanza> => specPassphraseStanza(pass, next(16), iterations, d)
  const km = (d = dek): Promise<SpecStanza> => specKmsStanza(kms, KMS_KEY_NAME, next(12), d)

  const vectors: Record<string, unknown>[] = []
  const add = async (name: string, rule: string, comment: string, decryptWith: string[], o: SpecObject, expect: string, edit?: (b: Uint8Array) => Uint8Array, extra: Record<string, unknown> = {}): Promise<void> => {
    let object = await specWrite(o)
    if (edit) object = edit(object)
    const v: Record<string, unknown> = { name, rule, comment, decryptWith, object: b64(object), expect, ...extra }
    if (expect === 'ok') v.plaintext = b64(o.plaintext)
    vectors.push(v)
  }
  const meta = (json: string): Uint8Array => te.encode(json)
  const set = (at: number, ...bytes: number[]) => (b: Uint8Array): Uint8Array => {
    const c = b.slice()
    c.set(bytes, at)
    return c
  }

  // §4 Opening: every entry and every key before failing.
  await add('forged-aeskw-first', '§4 try every entry', 'a wrap of another data key for the same key, before the genuine entry', ['aeskw'], base({ stanzas: [await aes(kw, otherDek), await aes()] }), 'ok')
  await add('garbage-aeskw-first', '§4 try every entry', 'an entry with the key id whose wrap does not unwrap, before the genuine one', ['aeskw'], base({ stanzas: [await garbage(aes(), 30), await aes()] }), 'ok')
  await add('short-aeskw-first', '§4 try every entry', 'an AES-KW entry with the key id and a 30-byte body, before the genuine one', ['aeskw'], base({ stanzas: [await cut(aes(), 30), await aes()] }), 'ok')
  await add('forged-rsa-first', '§4 try every entry', 'an RSA entry wrapping another data key, before the genuine one', ['rsa'], base({ stanzas: [await rsa(otherDek), await rsa()] }), 'ok')
  await add('short-rsa-first', '§4 try every entry', 'an RSA entry with the key id and a 16-byte body, before the genuine one', ['rsa'], base({ stanzas: [await cut(rsa(), 16), await rsa()] }), 'ok')
  await add('forged-then-other-key', '§4 try every key', 'the first key given opens only a forged entry; the second key opens the object', ['aeskw', 'aeskw-other'], base({ stanzas: [await aes(kw, otherDek), await aes(kwOther)] }), 'ok')
  await add('unknown-type-first', '§4 unknown types', 'an entry of type 0x7f (skipped) before the genuine one', ['aeskw'], base({ stanzas: [{ type: 0x7f, body: pattern(40, 9) }, await aes()] }), 'ok')
  await add('passphrase-after-refused', '§4 passphrase bounds', 'eight entries over 2,000,000 iterations (not run, not counted) before a valid ninth', ['passphrase'], base({ stanzas: [...(await Promise.all(Array.from({ length: 8 }, () => pp(3_000_000)))), await pp(600_000)] }), 'ok')
  await add('passphrase-after-weak', '§4 passphrase bounds', 'three entries under 600,000 iterations (skipped) before a valid one', ['passphrase'], base({ stanzas: [await pp(1000), await pp(1000), await pp(599_999), await pp(600_000)] }), 'ok')
  await add('kms-forged-first', '§4, §11 KMS', 'a KMS entry wrapping another data key before the genuine one (local adapter)', ['kms'], base({ stanzas: [await km(otherDek), await km()] }), 'ok')
  await add('kms-garbage-first', '§4, §11 KMS', 'a KMS entry whose blob the KMS cannot decrypt, before the genuine one', ['kms'], base({ stanzas: [await garbage(km(), 60), await km()] }), 'ok')
  await add('kms-and-aeskw', '§11 KMS', 'a KMS entry and an AES-KW entry; opened with the KMS key', ['kms'], base({ stanzas: [await km(), await aes()] }), 'ok')
  // §4 Opening: what is reported when nothing opens.
  await add('short-rsa-only', '§4 precedence', 'the only RSA entry for the key has a 16-byte body', ['rsa'], base({ stanzas: [await cut(rsa(), 16)] }), 'TAMPERED')
  await add('short-aeskw-only', '§4 precedence', 'the only AES-KW entry for the key has a 50-byte body', ['aeskw'], base({ stanzas: [await cut(aes(), 50)] }), 'TAMPERED')
  await add('forged-only', '§4 precedence', 'the only entry wraps another data key', ['aeskw'], base({ stanzas: [await aes(kw, otherDek)] }), 'COMMITMENT_MISMATCH')
  await add('garbage-then-forged', '§4 precedence', 'a garbage entry and a forged one: COMMITMENT_MISMATCH ranks above TAMPERED', ['aeskw'], base({ stanzas: [await garbage(aes(), 30), await aes(kw, otherDek)] }), 'COMMITMENT_MISMATCH')
  await add('passphrase-refused-only', '§4 precedence', 'the only passphrase entry asks for 3,000,000 iterations', ['passphrase'], base({ stanzas: [await pp(3_000_000)] }), 'BAD_HEADER')
  await add('refused-and-forged', '§4 precedence', 'a refused passphrase entry and a forged AES-KW entry: BAD_HEADER ranks first', ['aeskw', 'passphrase'], base({ stanzas: [await aes(kw, otherDek), await pp(3_000_000)] }), 'BAD_HEADER')
  await add('kms-garbage-only', '§11 KMS', 'the only KMS entry does not decrypt at the KMS', ['kms'], base({ stanzas: [await garbage(km(), 60)] }), 'TAMPERED')
  await add('kms-five-forged', '§4 KMS bound', 'five forged KMS entries: four are sent, the fifth is refused', ['kms'], base({ stanzas: await Promise.all(Array.from({ length: 5 }, () => km(otherDek))) }), 'BAD_HEADER')
  await add('kms-four-forged', '§4 KMS bound', 'four forged KMS entries: all sent, COMMITMENT_MISMATCH', ['kms'], base({ stanzas: await Promise.all(Array.from({ length: 4 }, () => km(otherDek))) }), 'COMMITMENT_MISMATCH')
  const malformedKms = await km()
  const mk = malformedKms.body.slice()
  mk.set([0, 0], 16) // nameLength 0: skipped like an unknown type, but its label is listed
  await add('wrong-key-ids', '§4 wrong key', 'labels listed once each in header order, malformed entries included', ['aeskw-other'], base({ stanzas: [await cut(rsa(), 16), await aes(), await aes(), { type: 4, body: mk }] }), 'WRONG_KEY', undefined, {
    keyIds: [...new Set([hex((await rsa()).body.subarray(0, 16)), hex((await aes()).body.subarray(0, 16)), hex(mk.subarray(0, 16))])],
  })
  // §2 Reading a header: order of the checks, flags, bounds.
  const one = async (): Promise<SpecObject> => base({ stanzas: [await aes()] })
  await add('header-80-bytes', '§2 order', 'the first 80 bytes only', ['aeskw'], await one(), 'TRUNCATED', (b) => b.slice(0, 80))
  await add('header-80-bytes-bad-reserved', '§2 order', '80 bytes with byte 59 set: too short is checked first', ['aeskw'], await one(), 'TRUNCATED', (b) => set(59, 1)(b).slice(0, 80))
  await add('header-96-bytes-bad-chunk-size', '§2 order', '96 bytes with chunk size 1000: the preamble is checked before the header length is read', ['aeskw'], await one(), 'BAD_HEADER', (b) => set(8, 0, 0, 3, 0xe8)(b).slice(0, 96))
  await add('header-3-bytes', '§2 order', 'the magic\'s first 3 bytes', ['aeskw'], await one(), 'TRUNCATED', (b) => b.slice(0, 3))
  await add('header-length-104', '§2 bounds', 'headerLength 104, below the 105 of the shortest header', ['aeskw'], await one(), 'BAD_HEADER', set(92, 0, 0, 0, 104))
  await add('header-length-long', '§2 bounds', 'headerLength one more than the entries: a byte left after the last entry', ['aeskw'], await one(), 'BAD_HEADER', (b) => set(92, 0, 0, 0, new DataView(b.buffer).getUint32(92) + 1)(b))
  await add('unknown-flag', '§2 flags', 'flag bit 1 set', ['aeskw'], await one(), 'BAD_HEADER', set(7, 2))
  // §2 flags and §6 metadata.
  const withMeta = async (json: string, flags = 1): Promise<SpecObject> => base({ flags, metadata: meta(json), stanzas: [await aes()] })
  await add('metadata-flagged', '§6 metadata', 'metadata with flag bit 0 (what writers now produce)', ['aeskw'], await withMeta('{"name":"vector.txt","type":"text/plain","lastModified":1700000000000,"fields":{"k":"v"}}'), 'ok', undefined, {
    metadata: { name: 'vector.txt', type: 'text/plain', lastModified: 1700000000000, fields: { k: 'v' } },
  })
  await add('metadata-unflagged', '§2 flags (old objects)', 'metadata without the flag, as written before it: still read', ['aeskw'], await withMeta('{"name":"old.txt"}', 0), 'ok', undefined, { metadata: { name: 'old.txt' } })
  await add('metadata-unknown-member', '§6 metadata', 'an unknown member is ignored', ['aeskw'], await withMeta('{"name":"a","future":[1,{"x":null}]}'), 'ok', undefined, { metadata: { name: 'a' } })
  await add('metadata-stripped', '§2 flags', 'metadataLength set to 0 and the sealed metadata removed, flag kept', ['aeskw'], await withMeta('{"name":"secret.pdf"}'), 'TAMPERED', (b) => {
    const v = new DataView(b.buffer, b.byteOffset)
    const m = v.getUint32(96)
    const out = new Uint8Array(b.length - m)
    out.set(b.subarray(0, 100))
    out.set(b.subarray(100 + m), 100)
    const ov = new DataView(out.buffer)
    ov.setUint32(92, v.getUint32(92) - m)
    ov.setUint32(96, 0)
    return out
  })
  await add('metadata-flag-cleared', '§2 flags', 'flag bit 0 cleared, metadata kept: the preamble changed', ['aeskw'], await withMeta('{"name":"secret.pdf"}'), 'COMMITMENT_MISMATCH', set(7, 0))
  for (const [name, json, comment] of [
    ['metadata-name-number', '{"name":5}', 'name is a number'],
    ['metadata-exponent', '{"lastModified":1e3}', 'lastModified written as 1e3'],
    ['metadata-fraction', '{"lastModified":1000.0}', 'lastModified written as 1000.0'],
    ['metadata-too-big', '{"lastModified":9007199254740993}', 'lastModified above 2^53−1'],
    ['metadata-duplicate', '{"name":"a","name":"b"}', 'a member twice'],
    ['metadata-field-number', '{"fields":{"k":1}}', 'a field that is not a string'],
    ['metadata-array', '["name"]', 'not an object'],
    ['metadata-lone-surrogate', '{"name":"\\ud800"}', 'a lone surrogate escaped'],
  ] as const) {
    await add(name, '§6 metadata', comment, ['aeskw'], await withMeta(json), 'BAD_HEADER')
  }
  await add('metadata-bom', '§6 metadata', 'a UTF-8 byte order mark before the JSON', ['aeskw'], base({ flags: 1, metadata: new Uint8Array([0xef, 0xbb, 0xbf, ...meta('{}')]), stanzas: [await aes()] }), 'BAD_HEADER')
  await add('metadata-empty', '§2 bounds', 'M = 16: an empty plaintext sealed', ['aeskw'], base({ flags: 1, metadata: new Uint8Array(0), stanzas: [await aes()] }), 'BAD_HEADER')
  // §5 Reading chunks.
  const U = C + 16
  const known = async (): Promise<SpecObject> => base({ plaintext: pattern(3 * C + 100, 14), stanzas: [await aes()] })
  const hl = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(92)
  await add('known-last-short', '§5 chunks', 'the last chunk cut by one byte (length recorded)', ['aeskw'], await known(), 'TRUNCATED', (b) => b.slice(0, b.length - 1))
  await add('known-dropped-short', '§5 first failure', 'chunk 1 dropped: chunk 2 fails at position 1 before the short body is reached', ['aeskw'], await known(), 'TAMPERED', (b) => {
    const h = hl(b)
    const out = new Uint8Array(b.length - U)
    out.set(b.subarray(0, h + U))
    out.set(b.subarray(h + 2 * U), h + U)
    return out
  })
  await add('known-bad-chunk-and-appended', '§5 first failure', 'chunk 0 flipped and a byte appended: chunk 0 comes first', ['aeskw'], await known(), 'TAMPERED', (b) => {
    const c = new Uint8Array(b.length + U + 1)
    c.set(b)
    c[hl(b) + 5] = (c[hl(b) + 5] ?? 0) ^ 1
    return c
  })
  const streamed = async (): Promise<SpecObject> => base({ knownLength: false, plaintext: pattern(2 * C, 15), stanzas: [await aes()] })
  await add('streamed-ok', '§5 chunks', 'streamed, two full chunks', ['aeskw'], await streamed(), 'ok')
  await add('streamed-inside-tag', '§5 chunks', 'streamed, cut with 10 bytes of the last chunk left', ['aeskw'], await streamed(), 'TRUNCATED', (b) => b.slice(0, hl(b) + U + 10))
  await add('streamed-boundary', '§5 chunks', 'streamed, cut after chunk 0', ['aeskw'], await streamed(), 'TRUNCATED', (b) => b.slice(0, hl(b) + U))
  await add('streamed-empty-body', '§5 chunks', 'streamed, no chunk at all', ['aeskw'], await streamed(), 'TRUNCATED', (b) => b.slice(0, hl(b)))

  // §7 mirror vectors, from one object with an AES-KW and an RSA entry.
  const mirrored = await specWrite(base({ stanzas: [await aes(), await rsa()] }))
  const m = headerToMetadata(mirrored)
  const small = headerToMetadata(mirrored, { budget: 700 })
  const P = 'x-amz-meta-client-side-encryption-'
  const without = (meta: Record<string, string>, name: string): Record<string, string> => Object.fromEntries(Object.entries(meta).filter(([k]) => k !== name))
  const mirrorVectors: Record<string, unknown>[] = []
  const mv = (name: string, comment: string, metadata: Record<string, string>, expect: string, prefix?: string): void => {
    mirrorVectors.push({ name, comment, metadata, ...(prefix === undefined ? {} : { prefix }), expect })
  }
  mv('full', 'every field, entries in the mirror', m, 'ok')
  mv('body', 'entries too big for the budget: "recipients":"body"', small, 'ok')
  mv('oss-prefix', 'x-oss-meta- names, read without a prefix option', Object.fromEntries(Object.entries(m).map(([k, v]) => [k.replace('x-amz-meta-', 'x-oss-meta-'), v])), 'ok')
  mv('no-prefix-upper', 'names without prefix, upper case', Object.fromEntries(Object.entries(m).map(([k, v]) => [k.replace('x-amz-meta-', '').toUpperCase(), v])), 'ok')
  mv('none', 'no cek-alg: no mirror', without(m, `${P}cek-alg`), 'null')
  mv('no-start', 'cek-alg but no start', without(m, `${P}start`), 'BAD_HEADER')
  mv('no-wrap-alg', 'cek-alg but no wrap-alg', without(m, `${P}wrap-alg`), 'BAD_HEADER')
  mv('no-matdesc', 'cek-alg but no matdesc', without(m, `${P}matdesc`), 'BAD_HEADER')
  mv('two-prefixes', 'the cek-alg under two prefixes', { ...m, 'x-oss-meta-client-side-encryption-cek-alg': m[`${P}cek-alg`] ?? '' }, 'BAD_HEADER')
  mv('case-twice', 'one field twice, differing only in case', { ...m, [`${P}START`]: m[`${P}start`] ?? '' }, 'BAD_HEADER')
  mv('cek-v2', 'cek-alg of another version', { ...m, [`${P}cek-alg`]: 'BKSL2/AES-256-GCM/HKDF-SHA-256/STREAM' }, 'UNSUPPORTED_VERSION')
  mv('cek-other', 'an unknown cek-alg', { ...m, [`${P}cek-alg`]: 'AES/GCM/NoPadding' }, 'BAD_HEADER')
  const md = (edit: (d: Record<string, unknown>) => void, from = m): Record<string, string> => {
    const d: Record<string, unknown> = JSON.parse(from[`${P}matdesc`] ?? '{}')
    edit(d)
    return { ...from, [`${P}matdesc`]: JSON.stringify(d) }
  }
  mv('matdesc-v2', 'matdesc "v":2', md((d) => (d.v = 2)), 'UNSUPPORTED_VERSION')
  mv('matdesc-hdr-104', 'hdr below 105', md((d) => (d.hdr = 104)), 'BAD_HEADER')
  mv('matdesc-hdr-float', 'hdr written as 1e3', { ...m, [`${P}matdesc`]: (m[`${P}matdesc`] ?? '').replace(/"hdr":[0-9]+/, '"hdr":1e3') }, 'BAD_HEADER')
  mv('matdesc-meta-without-key', '"recipients":"meta" without the key field', without(m, `${P}key`), 'BAD_HEADER')
  mv('matdesc-body-with-key', '"recipients":"body" with a key field', md((d) => (d.recipients = 'body')), 'BAD_HEADER')
  mv('kid-mismatch', 'kid does not list the entries\' key ids', md((d) => (d.kid = ['00'.repeat(16), '11'.repeat(16)])), 'BAD_HEADER')
  mv('kid-too-many', 'body mirror listing more key ids than keyed kinds', md((d) => (d.kid = ['00'.repeat(16), '11'.repeat(16), '22'.repeat(16)]), small), 'BAD_HEADER')
  mv('wrap-alg-mismatch', 'wrap-alg does not match the entries', { ...m, [`${P}wrap-alg`]: 'A256KW,A256KW' }, 'BAD_HEADER')
  mv('wrap-alg-unknown', 'wrap-alg names an unknown kind', { ...small, [`${P}wrap-alg`]: 'A256KW,type-1' }, 'BAD_HEADER')
  mv('length-mismatch', 'unencrypted-content-length differs from start', { ...m, [`${P}unencrypted-content-length`]: '2501' }, 'BAD_HEADER')
  mv('length-missing', 'unencrypted-content-length missing for a known length', without(m, `${P}unencrypted-content-length`), 'BAD_HEADER')
  mv('length-leading-zero', 'unencrypted-content-length with a leading zero', { ...m, [`${P}unencrypted-content-length`]: '02500' }, 'BAD_HEADER')
  mv('data-size-alone', 'data-size without part-size', { ...m, [`${P}data-size`]: '2500' }, 'BAD_HEADER')
  mv('start-bad', 'start with a bad magic', { ...m, [`${P}start`]: b64(new Uint8Array(92)) }, 'BAD_HEADER')

  return {
    rules: { description: 'Bucketseal format v1 reading-rule vectors. See docs/FORMAT.md and test/vectors/README.md.', keys, vectors },
    mirror: { description: 'Bucketseal metadata-mirror vectors (docs/FORMAT.md §7). Body object and keys: rules.json.', object: b64(mirrored), vectors: mirrorVectors },
  }
}
