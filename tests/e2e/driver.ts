/// <reference types="node" />
/**
 * What the end-to-end journey drives a browser with, the same in every engine: a {@link Page} with
 * Playwright-style locators (CSS, label, role, text, filters), whose queries run in the page itself
 * (`query.ts`), so that one locator means the same elements in Chromium and in Firefox. Each engine
 * supplies only the few things a page cannot do to itself, as a {@link PageDriver}: trusted clicks
 * and key presses, choosing files, downloads, screenshots (driver-playwright.ts for Chromium through
 * playwright-core, driver-puppeteer.ts for Firefox through puppeteer-core over WebDriver BiDi).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type QueryRequest, type QueryResult, type Step, type TextMatch, runQuery } from './query.js'

export type Engine = 'chromium' | 'firefox'

/** The keys the journey presses (a name both drivers know). */
export type Key = 'Tab' | 'Enter' | 'Escape'

/** A file to choose by its bytes, under `name` (the driver writes it to disk if it must). */
export interface FilePayload {
  readonly name: string
  readonly mimeType: string
  readonly buffer: Buffer
}

/** A file the browser saved as a download. */
export interface SavedDownload {
  /** The name the browser chose (from `download=` or `Content-Disposition`). */
  readonly name: string
  readonly bytes: Buffer
}

/** The engine-specific part: what a page's own script cannot do (trusted input, files, downloads). */
export interface PageDriver {
  readonly engine: Engine
  /** Runs `fn(arg)` in the page and returns its (JSON-like) result. */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>
  /** A trusted click in the middle of the element the query's single match names. */
  click(query: readonly Step[]): Promise<void>
  /** Chooses files on the `<input type=file>` the query names, as the file dialog would. */
  setInputFiles(query: readonly Step[], files: readonly (string | FilePayload)[]): Promise<void>
  /** A trusted key press on the focused element. */
  press(key: Key): Promise<void>
  goto(url: string): Promise<void>
  reload(): Promise<void>
  setViewportSize(size: { readonly width: number; readonly height: number }): Promise<void>
  screenshot(path: string, fullPage: boolean): Promise<void>
  /** Runs `trigger` and resolves with the download it starts. */
  download(trigger: () => Promise<void>, timeoutMs: number): Promise<SavedDownload>
  close(): Promise<void>
}

const DEFAULT_TIMEOUT_MS = 30_000
const POLL_MS = 100

export type TextOption = string | RegExp

function textMatch(value: TextOption, exact = false): TextMatch {
  return typeof value === 'string' ? { kind: 'text', value, exact } : { kind: 'regex', source: value.source, flags: value.flags }
}

export interface LocatorOptions {
  readonly hasText?: TextOption
  readonly has?: Locator
}

export type WaitState = 'attached' | 'visible' | 'hidden'

/** Elements found in the page by a chain of steps, resolved afresh each time it is used (as in Playwright). */
export class Locator {
  constructor(
    private readonly driver: PageDriver,
    readonly steps: readonly Step[],
  ) {}

  private with(...more: Step[]): Locator {
    return new Locator(this.driver, [...this.steps, ...more])
  }

  locator(css: string, options: LocatorOptions = {}): Locator {
    const extra: Step[] = []
    if (options.hasText !== undefined) extra.push({ kind: 'hasText', text: textMatch(options.hasText) })
    if (options.has !== undefined) extra.push({ kind: 'has', steps: options.has.steps })
    return this.with({ kind: 'css', css }, ...extra)
  }

  /** Form controls (or any element with `aria-label`) whose label matches: a substring, any case, unless `exact`. */
  getByLabel(label: TextOption, options: { readonly exact?: boolean } = {}): Locator {
    return this.with({ kind: 'label', text: textMatch(label, options.exact) })
  }

  /** Elements of this ARIA role that are not hidden, with an accessible name that matches. */
  getByRole(role: string, options: { readonly name?: TextOption; readonly exact?: boolean } = {}): Locator {
    return this.with({ kind: 'role', role, ...(options.name === undefined ? {} : { name: textMatch(options.name, options.exact) }) })
  }

  /** The innermost elements whose text matches. */
  getByText(text: TextOption, options: { readonly exact?: boolean } = {}): Locator {
    return this.with({ kind: 'text', text: textMatch(text, options.exact) })
  }

  filter(options: LocatorOptions): Locator {
    const extra: Step[] = []
    if (options.hasText !== undefined) extra.push({ kind: 'hasText', text: textMatch(options.hasText) })
    if (options.has !== undefined) extra.push({ kind: 'has', steps: options.has.steps })
    return this.with(...extra)
  }

  /** Elements matched by both. */
  and(other: Locator): Locator {
    return this.with({ kind: 'and', steps: other.steps })
  }

  first(): Locator {
    return this.with({ kind: 'nth', index: 0 })
  }

  private run(request: Omit<QueryRequest, 'steps'>): Promise<QueryResult> {
    return this.driver.evaluate(runQuery, { ...request, steps: this.steps })
  }

  private describe(): string {
    return JSON.stringify(this.steps)
  }

  /** Waits until the elements are in the state, polling (default: one is visible). */
  async waitFor(options: { readonly state?: WaitState; readonly timeout?: number } = {}): Promise<void> {
    const state = options.state ?? 'visible'
    const deadline = Date.now() + (options.timeout ?? DEFAULT_TIMEOUT_MS)
    for (;;) {
      const found = await this.run({ op: 'inspect' })
      const done = state === 'attached' ? found.count > 0 : state === 'visible' ? found.visible > 0 : found.visible === 0
      if (done) return
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${this.describe()} to be ${state} (${found.count} found, ${found.visible} visible).`)
      await sleep(POLL_MS)
    }
  }

  /**
   * Waits for exactly one match (more is an error, as in Playwright's strict mode), and for it to
   * be visible and enabled when `actionable`.
   */
  private async one(actionable: boolean, timeout = DEFAULT_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeout
    for (;;) {
      const found = await this.run({ op: 'inspect' })
      if (found.count > 1) throw new Error(`${this.describe()} matches ${found.count} elements; one was expected.`)
      if (found.count === 1 && (!actionable || (found.visible === 1 && found.enabled))) return
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${this.describe()} (${found.count} found, ${found.visible} visible, enabled: ${found.enabled}).`)
      await sleep(POLL_MS)
    }
  }

  private async value(op: 'text' | 'value' | 'attribute', name?: string): Promise<string | null> {
    await this.one(false)
    return (await this.run({ op, ...(name === undefined ? {} : { name }) })).value
  }

  count(): Promise<number> {
    return this.run({ op: 'inspect' }).then((r) => r.count)
  }

  textContent(): Promise<string | null> {
    return this.value('text')
  }

  async inputValue(): Promise<string> {
    return (await this.value('value')) ?? ''
  }

  getAttribute(name: string): Promise<string | null> {
    return this.value('attribute', name)
  }

  async click(options: { readonly timeout?: number } = {}): Promise<void> {
    await this.one(true, options.timeout)
    await this.driver.click(this.steps)
  }

  /** Replaces the value of a text field, with the `input` and `change` events typing would cause. */
  async fill(value: string): Promise<void> {
    await this.one(true)
    await this.run({ op: 'fill', value })
  }

  private async setChecked(checked: boolean): Promise<void> {
    await this.one(true)
    if ((await this.run({ op: 'inspect' })).checked !== checked) await this.driver.click(this.steps)
    if ((await this.run({ op: 'inspect' })).checked !== checked) throw new Error(`${this.describe()} did not become ${checked ? 'checked' : 'unchecked'}.`)
  }

  check(): Promise<void> {
    return this.setChecked(true)
  }

  uncheck(): Promise<void> {
    return this.setChecked(false)
  }

  async selectOption(option: { readonly label: string }): Promise<void> {
    await this.one(true)
    await this.run({ op: 'select', value: option.label })
  }

  async focus(): Promise<void> {
    await this.one(false)
    await this.run({ op: 'focus' })
  }

  async setInputFiles(files: string | FilePayload): Promise<void> {
    await this.one(false)
    await this.driver.setInputFiles(this.steps, typeof files === 'string' ? [files] : [files])
  }

  /** Drops files on the element, as a drag from the desktop would (a `drop` event with a DataTransfer). */
  async dropFiles(files: readonly FilePayload[]): Promise<void> {
    await this.one(true)
    const payload = files.map((f) => ({ name: f.name, type: f.mimeType, base64: f.buffer.toString('base64') }))
    await this.run({ op: 'drop', files: payload })
  }
}

/** One tab of one browser profile. */
export class Page {
  constructor(readonly driver: PageDriver) {}

  get engine(): Engine {
    return this.driver.engine
  }

  private root(): Locator {
    return new Locator(this.driver, [])
  }

  locator(css: string, options?: LocatorOptions): Locator {
    return this.root().locator(css, options)
  }

  getByLabel(label: TextOption, options?: { readonly exact?: boolean }): Locator {
    return this.root().getByLabel(label, options)
  }

  getByRole(role: string, options?: { readonly name?: TextOption; readonly exact?: boolean }): Locator {
    return this.root().getByRole(role, options)
  }

  getByText(text: TextOption, options?: { readonly exact?: boolean }): Locator {
    return this.root().getByText(text, options)
  }

  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
    return this.driver.evaluate(fn, arg)
  }

  waitForSelector(css: string, options: { readonly timeout?: number } = {}): Promise<void> {
    return this.locator(css).waitFor({ state: 'attached', ...options })
  }

  press(key: Key): Promise<void> {
    return this.driver.press(key)
  }

  reload(): Promise<void> {
    return this.driver.reload()
  }

  setViewportSize(size: { readonly width: number; readonly height: number }): Promise<void> {
    return this.driver.setViewportSize(size)
  }

  screenshot(path: string, fullPage: boolean): Promise<void> {
    return this.driver.screenshot(path, fullPage)
  }

  /** Runs `trigger` (a click, say) and resolves with the file the browser downloaded. */
  download(trigger: () => Promise<void>, options: { readonly timeout?: number } = {}): Promise<SavedDownload> {
    return this.driver.download(trigger, options.timeout ?? DEFAULT_TIMEOUT_MS)
  }
}
