/** A few DOM helpers: the demo uses no framework, only these and the platform. */
import { explain } from './messages.js'

export type Child = Node | string | null | undefined | false
type Handler = (event: Event) => void
/** Attributes; `on<event>` names take a listener, `true` sets a boolean attribute, `false`/nullish skip it. */
export type Attrs = Readonly<Record<string, string | number | boolean | null | undefined | Handler>>

/**
 * Creates an element with attributes and children.
 * @example h('button', { type: 'button', onclick: () => go() }, 'Go')
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value)
    else if (value === true) element.setAttribute(name, '')
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value))
  }
  element.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false))
  return element
}

let counter = 0
/** A document-unique id for label and ARIA references. */
export function uid(prefix: string): string {
  counter += 1
  return `${prefix}-${counter}`
}

/** A labelled form control, with an optional hint tied to it by `aria-describedby`. */
export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id ||= uid('field')
  const hintElement = hint === undefined ? null : h('small', { id: `${control.id}-hint`, class: 'hint' }, hint)
  if (hintElement !== null) control.setAttribute('aria-describedby', hintElement.id)
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintElement)
}

/** A message area under a form or a list. Errors are announced at once; other messages politely. */
export interface Notice {
  readonly element: HTMLElement
  error(error: unknown, names?: ReadonlyMap<string, string>): void
  ok(text: string, ...extra: Child[]): void
  info(text: string): void
  clear(): void
}

/** @example const status = notice(); form.append(status.element); status.ok('Saved.') */
export function notice(): Notice {
  const element = h('div', { class: 'notice', 'aria-live': 'polite' })
  const show = (kind: string, role: string | null, ...content: Child[]): void => {
    element.replaceChildren(h('p', { class: kind, role }, ...content))
  }
  return {
    element,
    error: (error, names) => show('error', 'alert', explain(error, names)),
    ok: (text, ...extra) => show('ok', null, text, ...extra),
    info: (text) => show('info', null, text),
    clear: () => element.replaceChildren(),
  }
}

/**
 * Runs `work` with `button` disabled, reporting a failure in `status`. Returns whether it succeeded.
 * @example await busy(submit, status, () => keys.createKeyPair(name, passphrase))
 */
export async function busy(button: HTMLButtonElement, status: Notice, work: () => Promise<void>, names?: () => Promise<ReadonlyMap<string, string>>): Promise<boolean> {
  button.disabled = true
  button.setAttribute('aria-busy', 'true')
  try {
    await work()
    return true
  } catch (error) {
    status.error(error, names === undefined ? undefined : await names().catch(() => undefined))
    return false
  } finally {
    button.disabled = false
    button.removeAttribute('aria-busy')
  }
}

/** Offers `blob` as a file download: a link the person clicks (and that tests can click). */
export function downloadLink(blob: Blob, fileName: string, text: string): HTMLAnchorElement {
  return h('a', { href: URL.createObjectURL(blob), download: fileName, class: 'button' }, text)
}

/** A file name without characters that file systems refuse. */
export function safeFileName(name: string): string {
  return name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-').slice(0, 200) || 'file'
}

/**
 * A screen: a section labelled by its heading (focusable, so navigation can move focus to it) and
 * an introduction. The heading's id is `<id>-heading`.
 */
export function screenSection(id: string, title: string, intro: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { 'aria-labelledby': `${id}-heading` },
    h('h2', { id: `${id}-heading`, tabindex: -1 }, title),
    h('p', { class: 'muted' }, intro),
    ...children,
  )
}

/**
 * A form with a heading (id `<id>-heading`), its fields, a submit button and a message area.
 * `submit` runs with the button disabled; what it throws is shown as an error.
 */
export function formCard(id: string, title: string, submitLabel: string, fields: readonly Child[], submit: (status: Notice) => Promise<void>): { form: HTMLFormElement; status: Notice } {
  const button = h('button', { type: 'submit' }, submitLabel)
  const status = notice()
  const form = h('form', { 'aria-labelledby': `${id}-heading` }, h('h3', { id: `${id}-heading` }, title), ...fields, button, status.element)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void busy(button, status, () => submit(status))
  })
  return { form, status }
}
