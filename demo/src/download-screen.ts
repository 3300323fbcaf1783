/**
 * Download: decrypt an object and save it (every chunk verified before it is written), or preview
 * its first bytes through one ranged read that fetches only the chunks covering them.
 */
import { download, downloadRange, saveDownload } from '@bucketseal/client'
import type { App, Screen } from './app.js'
import { busy, downloadLink, field, h, notice, safeFileName, screenSection } from './dom.js'
import { formatBytes } from './format.js'

/** Bytes read for a text (or unknown) preview, and at most for an image. */
const TEXT_PREVIEW = 4096
const IMAGE_PREVIEW = 2 * 1024 * 1024
const HEX_PREVIEW = 256

function isText(type: string): boolean {
  return type.startsWith('text/') || /^application\/(json|xml|javascript)|\+(json|xml)$/.test(type)
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = []
  for (let i = 0; i < bytes.length; i += 16) {
    lines.push(Array.from(bytes.subarray(i, i + 16), (b) => b.toString(16).padStart(2, '0')).join(' '))
  }
  return lines.join('\n')
}

export function downloadScreen(app: App): Screen {
  const select = h('select', { name: 'object' })
  const saveButton = h('button', { type: 'button' }, 'Decrypt and save')
  const previewButton = h('button', { type: 'button' }, 'Preview the first bytes')
  const bar = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Download progress' })
  const numbers = h('p', { class: 'numbers' })
  const status = notice()
  const preview = h('figure', { class: 'preview', hidden: true })
  const names = (): Promise<ReadonlyMap<string, string>> => app.keyNames()
  // What an earlier action showed belongs to the object it was about.
  const reset = (): void => {
    bar.hidden = preview.hidden = true
    numbers.textContent = ''
    status.clear()
  }
  select.addEventListener('change', reset)

  const fill = async (wanted: string | null): Promise<void> => {
    const entries = await app.catalog.refresh()
    select.replaceChildren(
      ...entries.map((entry) => {
        const option = h('option', { value: entry.key }, entry.key)
        // Label each object by its real name once this browser has opened it.
        app.catalog.open(entry.key).then(
          (o) => (option.textContent = `${o.metadata?.name ?? '(no name)'} · ${formatBytes(o.size)} · ${entry.key}`),
          () => (option.textContent = `${entry.key} (locked)`),
        )
        return option
      }),
    )
    if (wanted !== null) select.value = wanted
    saveButton.disabled = previewButton.disabled = entries.length === 0
    if (entries.length === 0) status.info('No objects yet: upload a file first.')
  }

  const save = async (): Promise<void> => {
    const key = select.value
    const keys = await app.catalog.keysFor(app.catalog.find(key))
    const dl = await download(key, {
      signer: app.signer,
      keys,
      onProgress: (p) => {
        bar.max = p.totalBytes
        bar.value = p.bytesDecrypted
        numbers.textContent = `${formatBytes(p.bytesDecrypted)} of ${formatBytes(p.totalBytes)} decrypted and verified`
      },
    })
    const name = safeFileName(dl.object.metadata?.name ?? key)
    bar.hidden = false
    status.info(`Decrypting "${name}"…`)
    const saved = await saveDownload(dl, { suggestedName: name })
    if (saved.kind === 'file') {
      status.ok(`Saved "${name}" (${formatBytes(dl.object.size)}), every chunk verified.`)
      return
    }
    // No File System Access API (or it is switched off): the verified file was assembled in memory.
    const link = downloadLink(saved.blob, name, `Save "${name}" again`)
    link.click()
    status.ok(`Decrypted "${name}" (${formatBytes(dl.object.size)}), every chunk verified. `, link)
  }

  const showPreview = async (): Promise<void> => {
    const key = select.value
    const opened = await app.catalog.open(key)
    const type = opened.metadata?.type ?? ''
    const end = Math.min(opened.size, type.startsWith('image/') ? IMAGE_PREVIEW : TEXT_PREVIEW)
    const keys = await app.catalog.keysFor(app.catalog.find(key))
    const bytes = await downloadRange(opened, 0, end, { signer: app.signer, keys })
    const name = opened.metadata?.name ?? key
    const chunks = Math.max(1, Math.ceil(end / opened.layout.chunkSize))
    const caption = `The first ${formatBytes(end)} of "${name}" (${formatBytes(opened.size)}): one ranged read of ${chunks} chunk(s), each verified before it was shown.`
    let body: HTMLElement
    if (type.startsWith('image/')) body = h('img', { src: URL.createObjectURL(new Blob([bytes.slice()], { type })), alt: `Preview of ${name}` })
    else if (isText(type)) body = h('pre', { class: 'text' }, new TextDecoder().decode(bytes))
    else body = h('pre', { class: 'hex', 'aria-label': 'First bytes in hexadecimal' }, hexDump(bytes.subarray(0, HEX_PREVIEW)))
    preview.replaceChildren(body, h('figcaption', {}, caption))
    preview.hidden = false
    status.clear()
  }

  saveButton.addEventListener('click', () => {
    reset()
    void busy(saveButton, status, save, names)
  })
  previewButton.addEventListener('click', () => {
    reset()
    void busy(previewButton, status, showPreview, names)
  })

  const element = screenSection(
    'download',
    'Download',
    'Objects are decrypted in this browser with your keys. A tampered or cut-short object fails before any of it is saved.',
    field('Object', select),
    h('div', { class: 'actions' }, saveButton, previewButton),
    bar,
    numbers,
    status.element,
    preview,
  )
  return {
    id: 'download',
    title: 'Download',
    element,
    show(params) {
      reset()
      void fill(params.get('key')).catch((error: unknown) => status.error(error))
    },
  }
}
