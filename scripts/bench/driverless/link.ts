/**
 * A shaped link between the browser and the store: token buckets (tc htb) on the loopback device
 * for the TCP traffic to and from the store's port only, one per direction, so an upload and a
 * download each see `mbps` MB/s. Needs root. The RGW of scripts/rgw.sh listens on 127.0.0.1 only and
 * the machine has no netfilter tools for a namespace's DNAT, so the store's port is what is shaped;
 * the page's own server (another port) is not. Only the benchmark touches that port while it holds
 * /tmp/bucketseal-heavy.lock, and {@link unshape} runs on every exit path.
 */
import { execFileSync } from 'node:child_process'

function tc(...args: string[]): void {
  execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Removes any shaping of the loopback device (back to its default, no queue). Never throws. */
export function unshape(): void {
  try {
    tc('qdisc', 'del', 'dev', 'lo', 'root')
  } catch {
    // nothing was installed
  }
}

/**
 * Shapes TCP to and from `port` on loopback to `mbps` MB/s (10^6 bytes) each way.
 * @throws when tc fails (not root, no sch_tbf).
 */
export function shape(port: number, mbps: number): void {
  unshape()
  const rate = `${mbps * 8}mbit`
  // This kernel has htb and tbf but no prio qdisc: an htb root whose default class does not exist
  // lets unmatched traffic through unshaped; one class per direction of the store's port.
  tc('qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'htb', 'default', '99')
  for (const band of ['2', '3']) {
    // A 64 KiB GSO packet must fit the bucket.
    tc('class', 'add', 'dev', 'lo', 'parent', '1:', 'classid', `1:${band}`, 'htb', 'rate', rate, 'ceil', rate, 'burst', '256k', 'cburst', '256k')
  }
  tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dport', String(port), '0xffff', 'flowid', '1:2')
  tc('filter', 'add', 'dev', 'lo', 'parent', '1:', 'protocol', 'ip', 'prio', '2', 'u32', 'match', 'ip', 'sport', String(port), '0xffff', 'flowid', '1:3')
}
