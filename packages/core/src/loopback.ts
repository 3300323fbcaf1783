/**
 * The project's one loopback rule: where plain http is allowed without the loudly named option
 * (presigned URLs, the presigner, a KMS endpoint), because the bytes never leave the machine.
 * `@bucketseal/server` has no dependencies and keeps a copy of this rule in its `uri.ts`; change
 * both together.
 */

/**
 * True for host names (as `URL.hostname` gives them) that can only mean this machine: `localhost`,
 * `127.0.0.0/8` and `[::1]`.
 * @example isLoopbackHost(new URL('http://127.0.0.1:9000/x').hostname) // true
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
}
