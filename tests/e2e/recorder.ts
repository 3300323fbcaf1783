/// <reference types="node" />
/**
 * A request as the browser sent it (recorded on the wire, wire.ts), and a search through requests
 * for secrets in the forms they could travel in.
 */

export interface RecordedRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: Buffer
}

/** A secret and a name for it in failure messages. */
export interface Needle {
  readonly name: string
  readonly bytes: Uint8Array
}

/**
 * The ways `bytes` could appear in a request: raw, hex, and base64 / base64url at each of the three
 * alignments (so a secret inside a longer base64 text is found too), URL-encoded when it is text.
 */
function forms(bytes: Uint8Array): Buffer[] {
  const raw = Buffer.from(bytes)
  const out = [raw, Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('hex').toUpperCase())]
  for (let shift = 0; shift < 3; shift++) {
    const aligned = raw.subarray(shift, shift + Math.floor((raw.length - shift) / 3) * 3)
    out.push(Buffer.from(aligned.toString('base64')), Buffer.from(aligned.toString('base64url')))
  }
  const text = raw.toString('utf8')
  if (Buffer.from(text, 'utf8').equals(raw) && encodeURIComponent(text) !== text) out.push(Buffer.from(encodeURIComponent(text)))
  return out.filter((f) => f.length >= 8)
}

/** Where each needle turns up: `"<needle> in <METHOD url>"`, or nothing. */
export function findNeedles(records: readonly RecordedRequest[], needles: readonly Needle[]): string[] {
  const found: string[] = []
  const searched = needles.map((n) => ({ name: n.name, forms: forms(n.bytes) }))
  for (const r of records) {
    const haystacks = [Buffer.from(r.url), Buffer.from(JSON.stringify(r.headers)), r.body]
    for (const n of searched) {
      if (haystacks.some((hay) => n.forms.some((f) => hay.includes(f)))) found.push(`${n.name} in ${r.method} ${r.url.slice(0, 120)}`)
    }
  }
  return found
}

/** `length` bytes of `bytes` from `offset`: a window distinctive enough to search for. */
export function window64(bytes: Uint8Array, offset: number): Uint8Array {
  return bytes.subarray(offset, offset + 64)
}
