/**
 * The locators' engine, run inside the page: {@link runQuery} is sent to the browser as its source
 * text (the drivers' `evaluate`), so it refers to nothing outside its own body. One implementation
 * for every engine, so a locator finds the same elements in Chromium and Firefox.
 *
 * The rules follow Playwright's: text is compared with whitespace collapsed, as a substring in any
 * case unless `exact`; `role` leaves out elements hidden from assistive technology; `label` looks at
 * `<label>`s, `aria-labelledby` and `aria-label`.
 */

export type TextMatch = { readonly kind: 'text'; readonly value: string; readonly exact: boolean } | { readonly kind: 'regex'; readonly source: string; readonly flags: string }

export type Step =
  | { readonly kind: 'css'; readonly css: string }
  | { readonly kind: 'label'; readonly text: TextMatch }
  | { readonly kind: 'role'; readonly role: string; readonly name?: TextMatch }
  | { readonly kind: 'text'; readonly text: TextMatch }
  | { readonly kind: 'hasText'; readonly text: TextMatch }
  | { readonly kind: 'has'; readonly steps: readonly Step[] }
  | { readonly kind: 'and'; readonly steps: readonly Step[] }
  | { readonly kind: 'nth'; readonly index: number }

export interface DropFile {
  readonly name: string
  readonly type: string
  readonly base64: string
}

/**
 * `inspect` counts; `text`, `value`, `attribute` read the single match; `fill`, `select`, `focus`,
 * `drop` act on it; `target` keeps it in `window.__e2eTarget` for the driver's trusted input.
 */
export interface QueryRequest {
  readonly steps: readonly Step[]
  readonly op: 'inspect' | 'text' | 'value' | 'attribute' | 'fill' | 'select' | 'focus' | 'drop' | 'target'
  readonly name?: string
  readonly value?: string
  readonly files?: readonly DropFile[]
}

export interface QueryResult {
  readonly count: number
  readonly visible: number
  /** Of the first match: not disabled (itself or by a disabled fieldset). */
  readonly enabled: boolean
  /** Of the first match, when it is a checkbox or radio button. */
  readonly checked: boolean | null
  readonly value: string | null
}

/** Where the `target` operation leaves its element for the driver (see the drivers' `click`). */
export const TARGET_SLOT = '__e2eTarget'

export function runQuery(request: QueryRequest): QueryResult {
  const norm = (s: string): string => s.replace(/\s+/g, ' ').trim()
  const matches = (m: TextMatch, raw: string): boolean => {
    const text = norm(raw)
    if (m.kind === 'regex') return new RegExp(m.source, m.flags).test(text)
    return m.exact ? text === norm(m.value) : text.toLowerCase().includes(norm(m.value).toLowerCase())
  }
  const isVisible = (e: Element): boolean => {
    const box = e.getBoundingClientRect()
    return box.width > 0 && box.height > 0 && getComputedStyle(e).visibility !== 'hidden'
  }
  const hiddenFromAT = (e: Element): boolean => {
    for (let n: Element | null = e; n !== null; n = n.parentElement) {
      if (n.getAttribute('aria-hidden') === 'true') return true
      if (getComputedStyle(n).display === 'none') return true
    }
    return getComputedStyle(e).visibility === 'hidden'
  }
  const textOf = (e: Element): string => e.textContent ?? ''
  const byIds = (ids: string): string =>
    ids
      .split(/\s+/)
      .map((id) => document.getElementById(id))
      .filter((n): n is HTMLElement => n !== null)
      .map(textOf)
      .join(' ')
  const labels = (e: Element): string[] => {
    const out: string[] = []
    const by = e.getAttribute('aria-labelledby')
    if (by !== null) out.push(byIds(by))
    const aria = e.getAttribute('aria-label')
    if (aria !== null) out.push(aria)
    if (e instanceof HTMLInputElement || e instanceof HTMLSelectElement || e instanceof HTMLTextAreaElement || e instanceof HTMLButtonElement || e instanceof HTMLOutputElement || e instanceof HTMLMeterElement || e instanceof HTMLProgressElement) {
      for (const l of Array.from(e.labels ?? [])) out.push(textOf(l))
    }
    return out
  }
  const roleOf = (e: Element): string | null => {
    const explicit = e.getAttribute('role')
    if (explicit !== null && explicit.trim() !== '') return explicit.trim().split(/\s+/)[0] ?? null
    const tag = e.tagName.toLowerCase()
    if (tag === 'button') return 'button'
    if (tag === 'input') {
      const type = (e.getAttribute('type') ?? 'text').toLowerCase()
      if (['button', 'submit', 'reset', 'image'].includes(type)) return 'button'
      if (type === 'checkbox') return 'checkbox'
      if (type === 'radio') return 'radio'
      return 'textbox'
    }
    if (/^h[1-6]$/.test(tag)) return 'heading'
    if (tag === 'dialog') return 'dialog'
    if (tag === 'a' && e.hasAttribute('href')) return 'link'
    if (tag === 'select') return 'combobox'
    if (tag === 'textarea') return 'textbox'
    if (tag === 'ul' || tag === 'ol') return 'list'
    if (tag === 'li') return 'listitem'
    return null
  }
  const accessibleName = (e: Element): string => {
    const by = e.getAttribute('aria-labelledby')
    if (by !== null) return byIds(by)
    const aria = e.getAttribute('aria-label')
    if (aria !== null) return aria
    if (e instanceof HTMLInputElement && ['button', 'submit', 'reset'].includes(e.type)) return e.value
    const role = roleOf(e)
    if (role === 'button' || role === 'heading' || role === 'link') return textOf(e)
    const own = labels(e)
    return own.join(' ')
  }
  const descendants = (roots: readonly ParentNode[]): Element[] => {
    const seen = new Set<Element>()
    for (const r of roots) for (const e of Array.from(r.querySelectorAll('*'))) seen.add(e)
    return Array.from(seen)
  }
  const inOrder = (list: Iterable<Element>): Element[] =>
    Array.from(new Set(list)).sort((a, b) => (a === b ? 0 : a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1))
  const resolve = (steps: readonly Step[], start: readonly ParentNode[]): Element[] => {
    let current: ParentNode[] = [...start]
    let elements: Element[] = []
    let scoped = false
    for (const step of steps) {
      switch (step.kind) {
        case 'css': {
          const found: Element[] = []
          for (const r of current) found.push(...Array.from(r.querySelectorAll(step.css)))
          elements = inOrder(found)
          break
        }
        case 'label':
          elements = descendants(current).filter((e) => labels(e).some((l) => matches(step.text, l)))
          break
        case 'role':
          elements = descendants(current).filter((e) => roleOf(e) === step.role && !hiddenFromAT(e) && (step.name === undefined || matches(step.name, accessibleName(e))))
          break
        case 'text':
          elements = descendants(current).filter((e) => {
            if (e instanceof HTMLScriptElement || e instanceof HTMLStyleElement || !matches(step.text, textOf(e))) return false
            return !Array.from(e.children).some((c) => matches(step.text, textOf(c)))
          })
          break
        case 'hasText':
          elements = (scoped ? elements : []).filter((e) => matches(step.text, textOf(e)))
          break
        case 'has':
          elements = (scoped ? elements : []).filter((e) => resolve(step.steps, [e]).length > 0)
          break
        case 'and': {
          const other = new Set(resolve(step.steps, [document]))
          elements = (scoped ? elements : []).filter((e) => other.has(e))
          break
        }
        case 'nth':
          elements = elements.slice(step.index, step.index + 1)
          break
      }
      scoped = true
      current = elements
    }
    return elements
  }

  const found = resolve(request.steps, [document])
  const first = found[0]
  const enabled = first !== undefined && !(first.matches(':disabled') || first.closest('[aria-disabled="true"]') !== null)
  const checked = first instanceof HTMLInputElement && (first.type === 'checkbox' || first.type === 'radio') ? first.checked : null
  let value: string | null = null
  if (first !== undefined) {
    switch (request.op) {
      case 'inspect':
        break
      case 'text':
        value = first.textContent
        break
      case 'value':
        value = first instanceof HTMLInputElement || first instanceof HTMLTextAreaElement || first instanceof HTMLSelectElement ? first.value : null
        break
      case 'attribute':
        value = first.getAttribute(request.name ?? '')
        break
      case 'fill': {
        if (!(first instanceof HTMLInputElement || first instanceof HTMLTextAreaElement)) throw new Error('fill: not a text field')
        first.focus()
        // The prototype's setter, as typing would: frameworks that wrap `value` still see the change.
        const proto = first instanceof HTMLInputElement ? HTMLInputElement.prototype : HTMLTextAreaElement.prototype
        Object.getOwnPropertyDescriptor(proto, 'value')?.set?.call(first, request.value ?? '')
        first.dispatchEvent(new Event('input', { bubbles: true }))
        first.dispatchEvent(new Event('change', { bubbles: true }))
        break
      }
      case 'select': {
        if (!(first instanceof HTMLSelectElement)) throw new Error('selectOption: not a <select>')
        const option = Array.from(first.options).find((o) => norm(o.label) === norm(request.value ?? ''))
        if (option === undefined) throw new Error(`selectOption: no option labelled ${JSON.stringify(request.value)}`)
        first.value = option.value
        first.dispatchEvent(new Event('input', { bubbles: true }))
        first.dispatchEvent(new Event('change', { bubbles: true }))
        break
      }
      case 'focus':
        if (first instanceof HTMLElement) first.focus()
        break
      case 'drop': {
        const transfer = new DataTransfer()
        for (const f of request.files ?? []) {
          const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))
          transfer.items.add(new File([bytes], f.name, { type: f.type }))
        }
        first.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }))
        break
      }
      case 'target':
        first.scrollIntoView({ block: 'center', inline: 'center' })
        Reflect.set(window, '__e2eTarget', first)
        break
    }
  }
  return { count: found.length, visible: found.filter(isVisible).length, enabled, checked, value }
}
