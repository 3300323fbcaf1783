// Browser side of tests/support/s3-harness.ts: typed access to its commands, and helpers shared by
// the upload and download tests.
import { commands } from 'vitest/browser'
// Types only (erased): the proxy itself runs in the Vitest process, behind the harness's commands.
import type { FaultRule, ProxyStats, PutDigest } from '../../../tests/support/fault-proxy.ts'
import { httpSigner } from '../src/index.js'

declare module 'vitest/browser' {
  interface BrowserCommands {
    setFaults(rules: FaultRule[]): Promise<void>
    proxyStats(): Promise<ProxyStats>
    resetProxyStats(): Promise<void>
    proxyPutDigests(): Promise<readonly PutDigest[]>
    redirectsFollowed(): Promise<number>
    pendingMultipartUploads(prefix: string): Promise<number>
    flipStoredByte(key: string, offset: number): Promise<void>
    truncateStored(key: string, length: number): Promise<void>
    putStored(key: string, base64: string, metadata: Record<string, string>): Promise<void>
    setStoredMetadata(key: string, metadata: Record<string, string>): Promise<void>
    getStored(key: string): Promise<string>
  }
}

export const s3 = commands

/** The presigner the harness mounts on this page's origin. */
export const signer = httpSigner('/api/s3')

let counter = 0
/** A fresh object key under the prefix the harness allows. */
export function testKey(label: string): string {
  counter++
  return `test/${label}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

/** Deterministic bytes (xorshift) of any size, generated quickly. */
export function bytes(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, Math.floor(length / 4))
  let x = seed >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x >>> 0
  }
  for (let i = words.length * 4; i < length; i++) out[i] = i & 255
  return out
}

export async function sha256(data: Uint8Array): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(data))), (b) => b.toString(16).padStart(2, '0')).join('')
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export function toBase64(data: Uint8Array): string {
  let s = ''
  for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000))
  return btoa(s)
}
