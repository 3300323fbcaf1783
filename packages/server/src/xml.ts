// The little XML that S3 speaks, without a DOM (none in Node or Workers) and without a dependency.
// S3 responses are flat, machine-written documents: no CDATA, no comments after the prolog, no
// namespace prefixes, and an element never contains another of its own name. That is all these
// helpers assume. Internal: not exported from index.ts.

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/** Escapes text for an element's content or an attribute value. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${c === '&' ? 'amp' : c === '<' ? 'lt' : c === '>' ? 'gt' : c === '"' ? 'quot' : 'apos'};`)
}

/** Replaces the five named entities and numeric character references; leaves anything else as is. */
export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, ref: string) => {
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10)
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return ENTITIES[ref] ?? whole
  })
}

/** The raw (still escaped) contents of every `<tag>` element, in document order; `''` for `<tag/>`. */
export function xmlElements(xml: string, tag: string): string[] {
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`, 'g')
  return Array.from(xml.matchAll(pattern), (m) => m[1] ?? '')
}

/** The text of the first `<tag>` element, unescaped, or `undefined` when there is none. */
export function xmlText(xml: string, tag: string): string | undefined {
  const first = xmlElements(xml, tag)[0]
  return first === undefined ? undefined : unescapeXml(first)
}
