/** Numbers for people: sizes, rates, durations, key ids. Pure functions. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`
}

/** Bytes per second → `12 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

/** Seconds left → `3 s`, `2 min 5 s`; `null` (no estimate yet) → `estimating…`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return 'estimating…'
  const s = Math.max(0, Math.ceil(seconds))
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`
}

/** A key id shortened for lists: the first 8 hex digits. Full ids are shown where they matter. */
export function shortId(id: string): string {
  return `${id.slice(0, 8)}…`
}

/** A timestamp (ms or ISO text) in the reader's locale. */
export function formatDate(when: number | string): string {
  return new Date(when).toLocaleString()
}
