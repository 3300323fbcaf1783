/**
 * Objects: what the bucket holds, as the store sees it (opaque keys, ciphertext sizes, the header
 * mirror in the metadata, its own encryption at rest) beside what only a key holder sees (the real
 * names, decrypted here). A key holder can share an object, or stop sharing it, from its row.
 */
import type { ObjectEncryption } from './api.js'
import type { App, Screen } from './app.js'
import type { Entry } from './catalog.js'
import { type Notice, busy, h, notice, screenSection } from './dom.js'
import { formatBytes, formatDate } from './format.js'
import { shareDialog } from './share-dialog.js'

function recipientsText(ids: readonly string[], names: ReadonlyMap<string, string>): string {
  if (ids.length === 0) return 'not in the metadata (read from the object\'s header)'
  return ids.map((id) => names.get(id) ?? `unknown key ${id}`).join(', ')
}

/** The store's encryption at rest, under Bucketseal's (docs/SSE.md). */
function encryptionText(sse: ObjectEncryption | null): string {
  if (sse === null) return 'none'
  if (sse.mode === 'aws:kms') return `aws:kms (${sse.keyId === undefined ? 'the store\'s default key' : `key ${sse.keyId}`})`
  if (sse.mode === 'SSE-C') return 'SSE-C (a key held by the server)'
  return 'AES256 (keys managed by the store)'
}

export function objectsScreen(app: App): Screen {
  const list = h('ul', { class: 'cards', 'aria-label': 'Objects' })
  const status = notice()
  const refreshButton = h('button', { type: 'button' }, 'Refresh')
  /** Each row's message area, from the last render: where the outcome of a share is said. */
  const rowNotices = new Map<string, Notice>()
  const dialog = shareDialog(app, async (key, message) => {
    await render()
    rowNotices.get(key)?.ok(message)
    list.querySelector<HTMLElement>(`li[data-object-key="${CSS.escape(key)}"] h3`)?.focus()
  })

  const item = (entry: Entry, names: ReadonlyMap<string, string>): HTMLElement => {
    const name = h('h3', { class: 'name', tabindex: -1 }, 'Decrypting the name…')
    const type = h('dd', {}, '…')
    const recipients = h('dd', { class: 'recipients' }, recipientsText(entry.mirror?.keyIds ?? [], names))
    const download = h('button', { type: 'button' }, 'Download')
    download.addEventListener('click', () => app.go('download', { key: entry.key }))
    // Only a browser that opens the object can wrap its data key for someone else: shown once it has.
    const share = h('button', { type: 'button', 'aria-haspopup': 'dialog', hidden: true }, 'Share')
    const rowStatus = notice()
    rowNotices.set(entry.key, rowStatus)
    const mirror = entry.mirror
    const wrap = entry.metadata['client-side-encryption-wrap-alg']
    const cek = entry.metadata['client-side-encryption-cek-alg']
    const li = h(
      'li',
      { class: 'card', 'data-object-key': entry.key },
      h('div', { class: 'card-head' }, name, h('div', { class: 'actions' }, download, share)),
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
        recipients,
        h('dt', {}, 'Encryption at rest'),
        h('dd', { class: 'sse' }, encryptionText(entry.serverSideEncryption)),
        h('dt', {}, 'Uploaded'),
        h('dd', {}, entry.lastModified === '' ? '' : formatDate(entry.lastModified)),
      ),
      rowStatus.element,
    )
    // The name is sealed inside the object: only a browser holding one of its keys can read it.
    // Opened, it also tells every recipient: those of the body header and those shared in metadata.
    Promise.all([app.catalog.open(entry.key), app.catalog.recipients(entry)]).then(
      ([opened, all]) => {
        const realName = opened.metadata?.name ?? '(no name)'
        name.textContent = realName
        type.textContent = opened.metadata?.type || 'not given'
        recipients.textContent = recipientsText(all.keyIds, names)
        li.dataset['name'] = opened.metadata?.name ?? ''
        share.hidden = false
        share.setAttribute('aria-label', `Share ${realName}`)
        share.addEventListener('click', () => void busy(share, rowStatus, () => dialog.open(entry, realName), () => app.keyNames()))
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
    rowNotices.clear()
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
    dialog.element,
  )
  return {
    id: 'objects',
    title: 'Objects',
    element,
    show() {
      dialog.element.close()
      void render().catch((error: unknown) => status.error(error))
    },
  }
}
