/**
 * Uppy: the same encrypted uploads for an app that already uses Uppy. Its Dashboard (drag and drop,
 * several files, pause, resume, cancel) with the `@bucketseal/uppy` uploader plugin, and Golden
 * Retriever, which brings unfinished files back after a reload; the plugin then sends only the parts
 * the store does not have. Stored files are listed below, each with a link to download it.
 */
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import type { RecipientInput } from '@bucketseal/core'
import { Bucketseal, type BucketsealBody } from '@bucketseal/uppy'
import Uppy, { type Meta } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import GoldenRetriever from '@uppy/golden-retriever'
import type { App, Screen } from './app.js'
import { h, notice, screenSection } from './dom.js'
import { formatBytes } from './format.js'

interface Choice {
  readonly id: string
  readonly label: string
  readonly key: RecipientInput
  readonly own: boolean
}

export function uppyScreen(app: App): Screen {
  // ---- Who can decrypt (as on the Upload screen) ----
  const selected = new Map<string, boolean>()
  let choices: Choice[] = []
  const choiceList = h('div', { class: 'choices' })
  const renderRecipients = async (): Promise<void> => {
    const [own, colleagues] = await Promise.all([app.keys.list(), app.keys.recipients.list()])
    choices = [
      ...own.map((k) => ({ id: k.id, label: `${k.name} (you)`, key: k.algorithm === 'A256KW' ? k.key : k.publicKey, own: true })),
      ...colleagues.map((k) => ({ id: k.id, label: `${k.name} (colleague)`, key: k.publicKey, own: false })),
    ]
    if (choices.length === 0) {
      choiceList.replaceChildren(h('p', {}, 'No keys yet. ', h('a', { href: '#keys' }, 'Create a key'), ' first: files are encrypted for keys.'))
      return
    }
    choiceList.replaceChildren(
      ...choices.map((c) => {
        const box = h('input', { type: 'checkbox', name: 'uppy-recipient', value: c.id, checked: selected.get(c.id) ?? c.own })
        box.addEventListener('change', () => selected.set(c.id, box.checked))
        selected.set(c.id, box.checked)
        return h('label', { class: 'choice' }, box, ` ${c.label} `, h('code', { class: 'muted' }, c.id.slice(0, 8)))
      }),
    )
  }

  // ---- Stored files ----
  const stored = h('ul', { class: 'cards', 'aria-label': 'Stored through Uppy' })
  const status = notice()
  const showStored = (name: string, body: BucketsealBody): void => {
    const open = h('button', { type: 'button' }, 'Download')
    open.setAttribute('aria-label', `Download ${name}`)
    open.addEventListener('click', () => app.go('download', { key: body.key }))
    const resumed = body.partsSent < body.partCount ? ` · resumed: ${body.partCount - body.partsSent} of ${body.partCount} parts were already on the store` : ''
    stored.prepend(
      h(
        'li',
        { class: 'card', 'data-object-key': body.key, 'data-name': name },
        h('div', { class: 'card-head' }, h('h3', {}, name), h('div', { class: 'actions' }, open)),
        h('p', { class: 'numbers' }, `${formatBytes(body.plaintextSize)} encrypted to ${formatBytes(body.size)} on the store as `, h('code', {}, body.key), resumed),
      ),
    )
  }

  // ---- Uppy, made when the screen is first shown (Golden Retriever restores files then) ----
  const target = h('div', { class: 'uppy-target' })
  let uppy: Uppy<Meta, BucketsealBody> | null = null
  const start = (): void => {
    uppy = new Uppy<Meta, BucketsealBody>({ id: 'bucketseal-demo' })
      .use(Dashboard, { inline: true, target, width: '100%', height: 420, proudlyDisplayPoweredByUppy: false, disableThumbnailGenerator: true })
      .use(GoldenRetriever)
      .use(Bucketseal, {
        signer: app.signer,
        keyPrefix: app.config.prefix,
        // A file that resumes keeps the keys it was started for (the uploader refuses others).
        recipients: (_file, unfinished) => {
          const chosen = unfinished === undefined ? choices.filter((c) => selected.get(c.id) === true) : choices.filter((c) => unfinished.recipientKeyIds.includes(c.id))
          if (chosen.length === 0) throw new Error('Choose at least one key that can decrypt the files.')
          return chosen.map((c) => c.key)
        },
      })
    uppy.on('upload-success', (file, response) => {
      if (file === undefined || response.body === undefined) return
      showStored(file.name, response.body)
      status.ok(`Stored ${file.name}. `, h('a', { href: '#objects' }, 'See it in Objects'))
      app.changed('objects')
    })
    uppy.on('upload-error', (_file, error) => status.error(error))
  }

  app.on('keys', () => void renderRecipients())
  const element = screenSection(
    'uppy',
    'Uppy',
    "The same encryption for apps built on Uppy: its Dashboard with the @bucketseal/uppy uploader. Drop several files, pause, resume or cancel them; each is encrypted in this browser before it is sent. After a reload, Uppy's Golden Retriever brings unfinished files back and only their missing parts are sent.",
    h('fieldset', {}, h('legend', {}, 'Who can decrypt these files'), choiceList),
    target,
    status.element,
    h('h3', {}, 'Stored through Uppy'),
    stored,
  )
  return {
    id: 'uppy',
    title: 'Uppy',
    element,
    show() {
      void renderRecipients()
      if (uppy === null) start()
    },
  }
}
