/**
 * Objects: what the bucket holds, as the store sees it (opaque keys, ciphertext sizes, the header
 * mirror in the metadata) beside what only a key holder sees (the real names, decrypted here).
 */
import type { App, Screen } from './app.js'
import type { Entry } from './catalog.js'
import { busy, h, notice, screenSection } from './dom.js'
import { formatBytes, formatDate } from './format.js'

function recipientsText(entry: Entry, names: ReadonlyMap<string, string>): string {
  const ids = entry.mirror?.keyIds ?? []
  if (ids.length === 0) return 'not in the metadata (read from the object\'s header)'
  return ids.map((id) => names.get(id) ?? `unknown key ${id}`).join(', ')
}

export function objectsScreen(app: App): Screen {
  const list = h('ul', { class: 'cards', 'aria-label': 'Objects' })
  const status = notice()
  const refreshButton = h('button', { type: 'button' }, 'Refresh')

  const item = (entry: Entry, names: ReadonlyMap<string, string>): HTMLElement => {
    const name = h('h3', { class: 'name' }, 'Decrypting the name…')
    const type = h('dd', {}, '…')
    const download = h('button', { type: 'button' }, 'Download')
    download.addEventListener('click', () => app.go('download', { key: entry.key }))
    const mirror = entry.mirror
    const wrap = entry.metadata['client-side-encryption-wrap-alg']
    const cek = entry.metadata['client-side-encryption-cek-alg']
    const li = h(
      'li',
      { class: 'card', 'data-object-key': entry.key },
      h('div', { class: 'card-head' }, name, download),
      h(
        'dl',
        {},
        h('dt', {}, 'Key on the store'),
        h('dd', {}, h('code', {}, entry.key)),
        h('dt', {}, 'Size'),
        h('dd', {}, mirror === null || mirror.plaintextLength === null ? formatBytes(entry.size) : `${formatBytes(mirror.plaintextLength)} (${formatBytes(entry.size)} encrypted)`),
        h('dt', {}, 'Type'),
        type,
        h('dt', {}, 'Algorithm'),
        h('dd', { class: 'algorithm' }, cek === undefined ? 'no Bucketseal metadata' : h('code', {}, cek), wrap === undefined ? null : `, data key wrapped with ${wrap.split(',').join(', ')}`),
        h('dt', {}, 'Chunk size'),
        h('dd', { class: 'chunk-size' }, mirror === null ? 'unknown' : formatBytes(mirror.chunkSize)),
        h('dt', {}, 'Recipients'),
        h('dd', { class: 'recipients' }, recipientsText(entry, names)),
        h('dt', {}, 'Uploaded'),
        h('dd', {}, entry.lastModified === '' ? '' : formatDate(entry.lastModified)),
      ),
    )
    // The name is sealed inside the object: only a browser holding one of its keys can read it.
    app.catalog.open(entry.key).then(
      (opened) => {
        name.textContent = opened.metadata?.name ?? '(no name)'
        type.textContent = opened.metadata?.type || 'not given'
        li.dataset['name'] = opened.metadata?.name ?? ''
      },
      (error: unknown) => {
        const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : ''
        name.textContent = code === 'KEY_NOT_FOUND' || code === 'WRONG_KEY' ? 'Locked: no key in this browser opens it' : 'Cannot be opened'
        name.classList.add('locked')
        type.textContent = 'sealed'
      },
    )
    return li
  }

  const render = async (): Promise<void> => {
    const [entries, names] = await Promise.all([app.catalog.refresh(), app.keyNames()])
    list.replaceChildren(...(entries.length === 0 ? [h('li', { class: 'empty' }, 'No objects yet: upload a file.')] : entries.map((e) => item(e, names))))
    status.info(`${entries.length} object(s) under ${app.config.prefix} in bucket ${app.config.store.bucket}${app.catalog.truncated ? ' (only the newest are listed)' : ''}.`)
  }
  refreshButton.addEventListener('click', () => void busy(refreshButton, status, render))

  const element = screenSection(
    'objects',
    'Objects',
    'The store sees only opaque keys, sizes and the encryption header mirrored in each object\'s metadata. The names below were decrypted in this browser.',
    h('div', { class: 'toolbar' }, refreshButton, status.element),
    list,
  )
  return {
    id: 'objects',
    title: 'Objects',
    element,
    show() {
      void render().catch((error: unknown) => status.error(error))
    },
  }
}
