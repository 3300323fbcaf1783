// URLs the S3 way: S3's percent-encoding (the one SigV4 signs), and the checks every URL we sign
// or address must pass. Internal but for uriEncode, which index.ts exports.
import { InvalidInputError } from './errors.js'

/**
 * S3's URI encoding: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX` (uppercase hex) of its UTF-8,
 * and `/` kept when `keepSlash` (object key paths).
 *
 * @throws {InvalidInputError} a string with a lone surrogate (it has no UTF-8 form).
 * @example
 * uriEncode('a b/c*', true) // 'a%20b/c%2A'
 */
export function uriEncode(value: string, keepSlash = false): string {
  let encoded: string
  try {
    encoded = encodeURIComponent(value)
  } catch {
    throw new InvalidInputError('A URL part contains a lone UTF-16 surrogate, which has no UTF-8 encoding.')
  }
  // encodeURIComponent leaves these sub-delimiters alone; SigV4 wants them encoded.
  encoded = encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded
}

/**
 * Parses an absolute `http:`/`https:` URL without user info or fragment.
 *
 * @throws {InvalidInputError} naming `name`.
 */
export function parseHttpUrl(value: string | URL, name: string): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new InvalidInputError(`${name} must be an absolute http(s) URL such as "https://s3.us-east-1.amazonaws.com".`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new InvalidInputError(`${name} must be an http(s) URL.`)
  if (url.username !== '' || url.password !== '' || url.hash !== '') throw new InvalidInputError(`${name} must not carry user info or a fragment.`)
  return url
}

/** True for names that can only mean this machine. The same rule as core's `isLoopbackHost` (this package has no dependencies). */
export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}
