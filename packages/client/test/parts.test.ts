import { TAG_LENGTH, ciphertextSize } from '@bucketseal/core'
import { describe, expect, it } from 'vitest'
import { MAX_PARTS, MIN_PART_SIZE, partAt, planParts } from '../src/index.js'

const C = 65536
const MiB = 1024 * 1024

describe('part planning', () => {
  it.for([
    [0, 1],
    [1, 1],
    [8 * MiB, 1],
    [8 * MiB + 1, 2],
    [64 * MiB, 8],
  ])('%i bytes → %i part(s) of 8 MiB', ([size, parts]) => {
    const plan = planParts(size ?? 0, C, 500)
    expect(plan.partSize).toBe(8 * MiB)
    expect(plan.partCount).toBe(parts)
    expect(plan.single).toBe(parts === 1)
  })

  it('raises small part sizes to 5 MiB in whole chunks', () => {
    expect(planParts(100 * MiB, C, 500, 1).partSize).toBe(MIN_PART_SIZE)
    expect(planParts(100 * MiB, C, 500, 5 * MiB + 1).partSize).toBe(5 * MiB + C)
  })

  it('raises the part size so a 10 GB and a 1 TB file need at most 10,000 parts', () => {
    for (const size of [10e9, 1e12]) {
      const plan = planParts(size, C, 500)
      expect(plan.partCount).toBeLessThanOrEqual(MAX_PARTS)
      expect(plan.partSize % C).toBe(0)
    }
  })

  it('parts tile the object exactly, header in part 1', () => {
    for (const size of [0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 17 * MiB + 12345]) {
      const plan = planParts(size, C, 777, 5 * MiB)
      let offset = 0
      for (let n = 1; n <= plan.partCount; n++) {
        const p = partAt(plan, n)
        expect(p.offset).toBe(offset)
        offset += p.size
        if (n < plan.partCount) expect(p.size).toBeGreaterThanOrEqual(MIN_PART_SIZE)
      }
      expect(offset).toBe(ciphertextSize(size, C, 777))
      expect(partAt(plan, 1).size).toBe(777 + Math.min(size, plan.partSize) + Math.max(1, Math.ceil(Math.min(size, plan.partSize) / C)) * TAG_LENGTH)
    }
  })

  it('refuses bad input with INVALID_ARGUMENT', () => {
    expect(() => planParts(-1, C, 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => planParts(10, 1000, 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => planParts(6e13, C, 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => partAt(planParts(10, C, 0), 2)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})
