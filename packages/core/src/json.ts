/**
 * A strict JSON reader for the format's JSON fields (sealed metadata, the mirror's `matdesc`).
 * `JSON.parse` is not enough for two independent readers to agree: it keeps the last of duplicate
 * names, turns `1e3` and `1000.0` into the same number, rounds integers above 2^53, and accepts
 * lone surrogates. This reader refuses duplicates and lone surrogates, and keeps each number's text
 * so the format can require integer syntax (FORMAT.md §6, "Reading the metadata"). Internal.
 */

/** A parsed JSON value. Numbers keep their source text; arrays and literals keep what the format needs. */
export type JsonValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly text: string }
  | { readonly kind: 'object'; readonly members: ReadonlyMap<string, JsonValue> }
  | { readonly kind: 'array'; readonly items: readonly JsonValue[] }
  | { readonly kind: 'literal'; readonly value: boolean | null }

/** Thrown for any input that is not strict JSON; callers turn it into their own typed error. */
export class JsonSyntaxError extends Error {}

/** Nesting deeper than this is refused: no writer of the format nests, and recursion must be bounded. */
const MAX_DEPTH = 32
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Parses an RFC 8259 JSON text (no BOM: the caller decodes UTF-8 and checks for one).
 * @throws {JsonSyntaxError}
 */
export function parseStrictJson(text: string): JsonValue {
  let at = 0
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at offset ${at}`)
  }
  const space = (): void => {
    while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++
  }
  const string = (): string => {
    at++ // the opening quote
    let out = ''
    for (;;) {
      if (at >= text.length) fail('unterminated string')
      const c = text.charCodeAt(at)
      if (c === 0x22) {
        at++
        break
      }
      if (c < 0x20) fail('control character in a string')
      if (c !== 0x5c) {
        out += text[at]
        at++
        continue
      }
      const e = text[at + 1]
      at += 2
      if (e === 'u') {
        const hex = text.slice(at, at + 4)
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape')
        out += String.fromCharCode(Number.parseInt(hex, 16))
        at += 4
      } else {
        const simple: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }
        const v = e === undefined ? undefined : simple[e]
        if (v === undefined) fail('bad escape')
        else out += v
      }
    }
    // Escapes can spell a lone surrogate, which has no UTF-8 form: two readers would disagree on it.
    if (LONE_SURROGATE.test(out)) fail('lone surrogate in a string')
    return out
  }
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) fail('nesting too deep')
    space()
    const c = text[at]
    if (c === '"') return { kind: 'string', value: string() }
    if (c === '{') {
      at++
      const members = new Map<string, JsonValue>()
      space()
      if (text[at] === '}') {
        at++
        return { kind: 'object', members }
      }
      for (;;) {
        space()
        if (text[at] !== '"') fail('expected a member name')
        const name = string()
        if (members.has(name)) fail(`duplicate member "${name}"`)
        space()
        if (text[at] !== ':') fail('expected ":"')
        at++
        members.set(name, value(depth + 1))
        space()
        if (text[at] === ',') {
          at++
          continue
        }
        if (text[at] === '}') {
          at++
          return { kind: 'object', members }
        }
        fail('expected "," or "}"')
      }
    }
    if (c === '[') {
      at++
      const items: JsonValue[] = []
      space()
      if (text[at] === ']') {
        at++
        return { kind: 'array', items }
      }
      for (;;) {
        items.push(value(depth + 1))
        space()
        if (text[at] === ',') {
          at++
          continue
        }
        if (text[at] === ']') {
          at++
          return { kind: 'array', items }
        }
        fail('expected "," or "]"')
      }
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, at)) {
        at += word.length
        return { kind: 'literal', value: v }
      }
    }
    NUMBER.lastIndex = at
    const m = NUMBER.exec(text)
    if (m === null) return fail('unexpected character')
    at += m[0].length
    return { kind: 'number', text: m[0] }
  }
  const result = value(0)
  space()
  if (at !== text.length) fail('data after the JSON value')
  return result
}

/**
 * The value of an integer-syntax number (`-?(0|[1-9][0-9]*)`) within ±(2^53−1), else `null`:
 * `1e3`, `1000.0` and `9007199254740993` are not integers to the format.
 */
export function jsonSafeInteger(value: JsonValue): number | null {
  if (value.kind !== 'number' || !INTEGER.test(value.text)) return null
  const n = Number(value.text)
  return Number.isSafeInteger(n) ? n : null
}
