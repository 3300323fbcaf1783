/// <reference types="node" />
/**
 * A Vitest reporter that writes, per project (core:node, core:chromium, core:firefox, core:webkit,
 * e2e, consumer), how many tests passed, failed and were skipped, and the wall time from its first
 * file's start to its last file's end. scripts/test.sh prints it in its summary line; Vitest's JSON
 * report does not say which project a result belongs to.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Reporter, TestModule } from 'vitest/node'

export interface ProjectSummary {
  passed: number
  failed: number
  skipped: number
  /** Files that failed without a failed test in them (an import error, a failing hook). */
  failedFiles: number
  /** Milliseconds from the first file's start to the last file's end. */
  wallMs: number
}

export class ProjectSummaryReporter implements Reporter {
  private readonly spans = new Map<string, { start: number; end: number }>()

  constructor(private readonly outputFile: string) {}

  onTestModuleStart(module: TestModule): void {
    const name = module.project.name
    const now = Date.now()
    const span = this.spans.get(name)
    if (span === undefined) this.spans.set(name, { start: now, end: now })
  }

  onTestModuleEnd(module: TestModule): void {
    const span = this.spans.get(module.project.name)
    if (span !== undefined) span.end = Math.max(span.end, Date.now())
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const out: Record<string, ProjectSummary> = {}
    for (const module of modules) {
      const name = module.project.name
      const s = (out[name] ??= { passed: 0, failed: 0, skipped: 0, failedFiles: 0, wallMs: 0 })
      let failedHere = 0
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') s.passed++
        else if (state === 'failed') {
          s.failed++
          failedHere++
        } else s.skipped++
      }
      if (failedHere === 0 && module.state() === 'failed') s.failedFiles++
      const span = this.spans.get(name)
      if (span !== undefined) s.wallMs = span.end - span.start
    }
    // By name, so the summary line reads the same from run to run.
    const sorted = Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)))
    mkdirSync(dirname(this.outputFile), { recursive: true })
    writeFileSync(this.outputFile, `${JSON.stringify(sorted, null, 2)}\n`)
  }
}
