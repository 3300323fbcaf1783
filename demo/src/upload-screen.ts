/**
 * Upload: drop or pick files, choose who can decrypt them, and watch each one being encrypted and
 * sent (progress, rate, time left; pause, resume, cancel). An upload cut off by a reload or a crash
 * is listed on return: picking the same file again sends only the parts the store does not have.
 */
import type { RecipientInput } from '@bucketseal/core'
import { type UploadProgress, type UploadResult, type UploadTask, discardUpload, pendingUploads, upload, uploadStore } from '@bucketseal/client'
import type { App, Screen } from './app.js'
import { busy, field, h, notice, screenSection } from './dom.js'
import { formatBytes, formatDate, formatDuration, formatRate } from './format.js'

interface Choice {
  readonly id: string
  readonly label: string
  readonly key: RecipientInput
  readonly own: boolean
}

type RowState = 'waiting' | 'uploading' | 'paused' | 'done' | 'failed' | 'cancelled'

/** One file's row: name, progress bar, numbers, and its buttons. */
class Row {
  readonly element: HTMLLIElement
  readonly #bar = h('progress', { max: 1, value: 0 })
  readonly #numbers = h('p', { class: 'numbers' }, 'Waiting…')
  readonly #status = notice()
  readonly pause = h('button', { type: 'button' }, 'Pause')
  readonly cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel')

  constructor(readonly file: File) {
    this.#bar.setAttribute('aria-label', `Upload of ${file.name}`)
    this.element = h(
      'li',
      { class: 'card upload', 'data-file': file.name, 'data-state': 'waiting' },
      h('h3', {}, file.name, h('span', { class: 'muted' }, ` · ${formatBytes(file.size)}`)),
      this.#bar,
      this.#numbers,
      h('div', { class: 'actions' }, this.pause, this.cancel),
      this.#status.element,
    )
  }

  set state(state: RowState) {
    this.element.dataset['state'] = state
    const finished = state === 'done' || state === 'failed' || state === 'cancelled'
    this.pause.hidden = finished || state === 'waiting'
    this.cancel.hidden = finished
    this.pause.textContent = state === 'paused' ? 'Resume' : 'Pause'
    if (state === 'paused') this.#numbers.textContent = `Paused at ${formatBytes(this.#bar.value)} of ${formatBytes(this.#bar.max)}.`
  }

  progress(p: UploadProgress): void {
    this.#bar.max = p.totalBytes
    this.#bar.value = p.bytesUploaded
    this.element.dataset['partsDone'] = String(p.partsDone)
    const resumed = p.partsResumed > 0 ? ` · resumed: ${p.partsResumed} of ${p.partCount} parts were already on the store` : ''
    this.#numbers.textContent = `${formatBytes(p.bytesUploaded)} of ${formatBytes(p.totalBytes)} · ${formatRate(p.bytesPerSecond)} · ${formatDuration(p.secondsLeft)} left${resumed}`
  }

  done(result: UploadResult, seeObjects: () => void): void {
    this.#bar.value = this.#bar.max
    this.element.dataset['objectKey'] = result.objectKey
    const resumed = result.partsSent < result.partCount ? ` (resumed: the other ${result.partCount - result.partsSent} were already on the store)` : ''
    this.#numbers.textContent = `${formatBytes(result.plaintextSize)} encrypted to ${formatBytes(result.size)} on the store, ${result.partsSent} of ${result.partCount} part(s) sent by this page${resumed}.`
    const link = h('a', { href: '#objects' }, 'See it in Objects')
    link.addEventListener('click', (event) => {
      event.preventDefault()
      seeObjects()
    })
    this.#status.ok(`Uploaded as ${result.objectKey}. `, link)
    this.state = 'done'
  }

  failed(error: unknown): void {
    this.#status.error(error)
    this.#numbers.textContent = ''
    this.state = 'failed'
  }

  cancelled(): void {
    this.#status.info('Cancelled: the partial upload was removed from the store.')
    this.state = 'cancelled'
  }
}

interface Job {
  readonly row: Row
  readonly resumeKey: string
  readonly recipients: readonly RecipientInput[]
  task: UploadTask | null
  cancelled: boolean
}

export function uploadScreen(app: App): Screen {
  // ---- Recipients ----
  const selected = new Map<string, boolean>()
  let choices: Choice[] = []
  const choiceList = h('div', { class: 'choices' })
  const recipientsBox = h('fieldset', {}, h('legend', {}, 'Who can decrypt these files'), choiceList)
  const renderRecipients = async (): Promise<void> => {
    const [own, colleagues] = await Promise.all([app.keys.list(), app.keys.recipients.list()])
    choices = [
      ...own.map((k) => ({ id: k.id, label: `${k.name} (you)`, key: k.algorithm === 'A256KW' ? k.key : k.publicKey, own: true })),
      ...colleagues.map((k) => ({ id: k.id, label: `${k.name} (colleague)`, key: k.publicKey, own: false })),
    ]
    if (choices.length === 0) {
      const link = h('a', { href: '#keys' }, 'Create a key')
      choiceList.replaceChildren(h('p', {}, 'No keys yet. ', link, ' first: files are encrypted for keys.'))
      return
    }
    choiceList.replaceChildren(
      ...choices.map((c) => {
        const box = h('input', { type: 'checkbox', name: 'recipient', value: c.id, checked: selected.get(c.id) ?? c.own })
        box.addEventListener('change', () => selected.set(c.id, box.checked))
        selected.set(c.id, box.checked)
        return h('label', { class: 'choice' }, box, ` ${c.label} `, h('code', { class: 'muted' }, c.id.slice(0, 8)))
      }),
    )
  }
  const recipients = (): RecipientInput[] => choices.filter((c) => selected.get(c.id) === true).map((c) => c.key)

  // ---- The queue: one file at a time (each upload runs its own Worker pool) ----
  const rows = h('ul', { class: 'cards', 'aria-label': 'Uploads' })
  const queueStatus = notice()
  const queue: Job[] = []
  const active = new Set<string>()
  let running = false

  const run = async (job: Job): Promise<void> => {
    const { row } = job
    job.task = upload(row.file, {
      signer: app.signer,
      recipients: job.recipients,
      // The store sees only an opaque name under the demo's prefix; the real one is sealed inside.
      keyPrefix: app.config.prefix,
      resumeKey: job.resumeKey,
      onProgress: (p) => row.progress(p),
    })
    row.state = 'uploading'
    try {
      row.done(await job.task.done, () => app.go('objects'))
      app.changed('objects')
    } catch (error) {
      if (job.cancelled) return row.cancelled()
      return row.failed(error)
    }
  }

  const pump = async (): Promise<void> => {
    if (running) return
    running = true
    for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
      if (!job.cancelled) await run(job)
      active.delete(job.resumeKey)
    }
    running = false
    await renderPending()
  }

  const enqueue = async (files: readonly File[]): Promise<void> => {
    queueStatus.clear()
    const pending = new Map((await pendingUploads(uploadStore())).map((p) => [p.resumeKey, p]))
    for (const file of files) {
      // The package's default resume key is the file name: picking the same file again resumes it.
      const resumeKey = file.name
      if (active.has(resumeKey)) {
        queueStatus.error(new Error(`"${file.name}" is already in the list.`))
        continue
      }
      // A resumed upload must keep its recipients (the uploader refuses others): take them from it.
      const saved = pending.get(resumeKey)
      const chosen = saved === undefined ? recipients() : choices.filter((c) => saved.recipientKeyIds.includes(c.id)).map((c) => c.key)
      if (chosen.length === 0 && saved === undefined) {
        queueStatus.error(new Error('Choose at least one key that can decrypt the files.'))
        return
      }
      const row = new Row(file)
      const job: Job = { row, resumeKey, recipients: chosen, task: null, cancelled: false }
      row.pause.addEventListener('click', () => {
        if (job.task === null) return
        if (job.task.paused) job.task.resume()
        else job.task.pause()
        row.state = job.task.paused ? 'paused' : 'uploading'
      })
      row.cancel.addEventListener('click', () => {
        job.cancelled = true
        if (job.task === null) row.cancelled()
        else void job.task.cancel()
      })
      active.add(resumeKey)
      queue.push(job)
      rows.prepend(row.element)
    }
    await renderPending()
    await pump()
  }

  // ---- Files: drop zone and picker ----
  const picker = h('input', { type: 'file', multiple: true, name: 'files' })
  picker.addEventListener('change', () => {
    void enqueue(Array.from(picker.files ?? []))
    picker.value = ''
  })
  const drop = h('div', { class: 'drop' }, h('p', {}, 'Drop files here, or choose them.'), field('Files to encrypt and upload', picker))
  drop.addEventListener('dragover', (event) => {
    event.preventDefault()
    drop.classList.add('over')
  })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', (event) => {
    event.preventDefault()
    drop.classList.remove('over')
    void enqueue(Array.from(event.dataTransfer?.files ?? []))
  })

  // ---- Unfinished uploads from earlier visits ----
  const pendingList = h('ul', { class: 'cards', 'aria-label': 'Unfinished uploads' })
  const pendingSection = h('section', { 'aria-labelledby': 'pending-heading', hidden: true }, h('h3', { id: 'pending-heading' }, 'Unfinished uploads'), pendingList)
  const renderPending = async (): Promise<void> => {
    const list = (await pendingUploads(uploadStore())).filter((p) => !active.has(p.resumeKey))
    pendingSection.hidden = list.length === 0
    pendingList.replaceChildren(
      ...list.map((p) => {
        const again = h('input', { type: 'file', name: 'resume' })
        again.addEventListener('change', () => void enqueue(Array.from(again.files ?? [])))
        const discard = h('button', { type: 'button', class: 'danger' }, 'Discard')
        const status = notice()
        discard.addEventListener('click', () => void busy(discard, status, () => discardUpload(p.resumeKey, app.signer).then(renderPending)))
        return h(
          'li',
          { class: 'card', 'data-file': p.fileName },
          h('h4', {}, p.fileName, h('span', { class: 'muted' }, ` · ${formatBytes(p.fileSize)}`)),
          h('p', {}, `${p.partsDone} of ${p.partCount} parts are on the store (started ${formatDate(p.createdAt)}). Pick the same file again to send the rest.`),
          field(`Pick "${p.fileName}" again to resume`, again),
          h('div', { class: 'actions' }, discard),
          status.element,
        )
      }),
    )
  }

  app.on('keys', () => void renderRecipients())
  const element = screenSection(
    'upload',
    'Upload',
    'Each file is encrypted in this browser, in parallel parts, and sent straight to the store with short-lived signed links. Its name and type are sealed inside it.',
    recipientsBox,
    drop,
    queueStatus.element,
    pendingSection,
    rows,
  )
  return {
    id: 'upload',
    title: 'Upload',
    element,
    show() {
      void renderRecipients()
      void renderPending()
    },
  }
}
