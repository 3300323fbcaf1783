// The part queue's building blocks: the places on the wire (Slots) that let one lane seal the next
// part while the others send, and the download's range queue that keeps every lane busy.
import { describe, expect, it } from 'vitest'
import { TransferError } from '../src/index.js'
import { Slots } from '../src/lanes.js'
import { RangeQueue } from '../src/range-queue.js'

/** A promise settled from outside. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve: (v: T) => void = () => undefined
  let reject: (e: unknown) => void = () => undefined
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0))

describe('Slots', () => {
  it('grants at most `size` at once, the rest in order as places are given back', async () => {
    const slots = new Slots(2)
    const order: number[] = []
    const held = [0, 1, 2, 3].map((n) => slots.acquire().then((release) => (order.push(n), release)))
    await tick()
    expect(order).toEqual([0, 1])
    const first = await held[0]
    first?.()
    first?.() // a second call gives nothing back twice
    await tick()
    expect(order).toEqual([0, 1, 2])
    ;(await held[1])?.()
    await tick()
    expect(order).toEqual([0, 1, 2, 3])
  })

  it('a waiter whose signal aborts gets ABORTED and takes no place', async () => {
    const slots = new Slots(1)
    const release = await slots.acquire()
    const controller = new AbortController()
    const waiting = slots.acquire(controller.signal)
    const after = slots.acquire()
    controller.abort()
    await expect(waiting).rejects.toSatisfy((e) => e instanceof TransferError && e.code === 'ABORTED')
    release()
    // The place went to the next waiter, not to the aborted one.
    await expect(after).resolves.toBeTypeOf('function')
    await expect(slots.acquire(AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORTED' })
  })
})

interface Fetch {
  readonly id: string
  readonly start: number
  readonly end: number
  readonly done: ReturnType<typeof deferred<Uint8Array>>
}

function fakeRanges(): { fetches: Fetch[]; cancelled: string[]; fetch: (id: string, start: number, end: number) => Promise<Uint8Array>; cancel: (id: string) => void } {
  const fetches: Fetch[] = []
  const cancelled: string[] = []
  return {
    fetches,
    cancelled,
    fetch(id, start, end) {
      const done = deferred<Uint8Array>()
      fetches.push({ id, start, end, done })
      return done.promise
    },
    cancel: (id) => void cancelled.push(id),
  }
}

describe('RangeQueue', () => {
  it('hands ranges out in order while a slow first range lets the other lanes go on, up to the window', async () => {
    const f = fakeRanges()
    const queue = new RangeQueue({ length: 100, rangeSize: 10, concurrency: 2, window: 4, fetch: f.fetch, cancel: f.cancel })
    expect(f.fetches.map((x) => [x.start, x.end])).toEqual([
      [0, 10],
      [10, 20],
    ])
    // Range 0 is slow; range 1 finishes: its lane starts range 2 at once, without waiting for 0.
    f.fetches[1]?.done.resolve(new Uint8Array([1]))
    await tick()
    expect(f.fetches).toHaveLength(3)
    f.fetches[2]?.done.resolve(new Uint8Array([2]))
    await tick()
    // 4 ranges held (0 fetching, 1 and 2 waiting, 3 fetching): the window is full.
    expect(f.fetches).toHaveLength(4)
    f.fetches[3]?.done.resolve(new Uint8Array([3]))
    await tick()
    expect(f.fetches).toHaveLength(4)
    const first = queue.next()
    f.fetches[0]?.done.resolve(new Uint8Array([0]))
    expect(await first).toEqual(new Uint8Array([0]))
    expect(await queue.next()).toEqual(new Uint8Array([1]))
    await tick()
    // Two handed out: two more launched.
    expect(f.fetches.map((x) => x.start)).toEqual([0, 10, 20, 30, 40, 50])
    queue.close()
  })

  it('covers the length exactly, the last range shorter, then says null', async () => {
    const f = fakeRanges()
    const queue = new RangeQueue({ length: 25, rangeSize: 10, concurrency: 3, fetch: f.fetch, cancel: f.cancel })
    expect(f.fetches.map((x) => [x.start, x.end])).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ])
    for (const x of f.fetches) x.done.resolve(new Uint8Array([x.start]))
    expect(await queue.next()).toEqual(new Uint8Array([0]))
    expect(await queue.next()).toEqual(new Uint8Array([10]))
    expect(await queue.next()).toEqual(new Uint8Array([20]))
    expect(await queue.next()).toBeNull()
  })

  it('passes a range failure on, and close() cancels only the ranges still fetching', async () => {
    const f = fakeRanges()
    const queue = new RangeQueue({ length: 40, rangeSize: 10, concurrency: 3, fetch: f.fetch, cancel: f.cancel })
    f.fetches[1]?.done.resolve(new Uint8Array(1))
    f.fetches[0]?.done.reject(new TransferError('NETWORK', 'injected'))
    await expect(queue.next()).rejects.toMatchObject({ code: 'NETWORK' })
    queue.close()
    expect(f.cancelled.sort()).toEqual(f.fetches.filter((_, i) => i >= 2).map((x) => x.id).sort())
    const count = f.fetches.length
    f.fetches[2]?.done.resolve(new Uint8Array(1))
    await tick()
    expect(f.fetches).toHaveLength(count)
    expect(await queue.next()).toBeNull()
  })
})
