/**
 * Keys: create a key (and download its passphrase-sealed backup), restore one from a backup, list,
 * share a public key, delete; add colleagues' public keys as recipients; storage persistence.
 */
import { BACKUP_FILE_EXTENSION, type KnownRecipient, type StoredKey, readBackupInfo, requestPersistentStorage } from '@bucketseal/keys'
import type { App, Screen } from './app.js'
import { busy, downloadLink, field, formCard, h, notice, safeFileName, screenSection } from './dom.js'
import { formatDate } from './format.js'

function persistenceText(persisted: boolean | 'unavailable'): string {
  if (persisted === 'unavailable') return 'This browser cannot keep storage persistent here. Keep your backup files safe: they are the way back if the browser deletes this site\'s data.'
  return persisted
    ? 'Storage is persistent: the browser keeps your keys until you clear this site\'s data.'
    : 'Storage is not persistent: under storage pressure the browser may delete this site\'s data, keys included. Ask it to keep them, and keep your backup files safe.'
}

export function keysScreen(app: App): Screen {
  // ---- Storage persistence ----
  const persistence = h('p', { id: 'persistence' }, 'Checking storage…')
  const persistButton = h('button', { type: 'button' }, 'Ask the browser to keep my keys')
  persistButton.addEventListener('click', async () => {
    const answer = await requestPersistentStorage()
    persistence.textContent = persistenceText(answer === 'unavailable' ? 'unavailable' : answer === 'granted')
  })
  const refreshPersistence = async (): Promise<void> => {
    const persisted = navigator.storage === undefined ? 'unavailable' : await navigator.storage.persisted().catch(() => false)
    persistence.textContent = persistenceText(persisted)
    persistButton.hidden = persisted !== false
  }

  // ---- Own keys ----
  const keyList = h('ul', { class: 'cards', 'aria-label': 'Your keys' })
  const listStatus = notice()
  const sharePanel = h('div', { class: 'share' })

  const share = async (key: StoredKey): Promise<void> => {
    const exported = await app.keys.exportPublicKey(key.id)
    const pem = h('textarea', { readonly: true, rows: 6, class: 'pem', spellcheck: 'false' }, exported.pem)
    const copy = h('button', { type: 'button' }, 'Copy')
    copy.addEventListener('click', () => void navigator.clipboard.writeText(exported.pem).then(() => (copy.textContent = 'Copied')))
    sharePanel.replaceChildren(
      h('h3', {}, `Public key of "${key.name}"`),
      h('p', {}, 'Send this to a colleague so they can encrypt files for you. They should compare the fingerprint with you over another channel (in person, by phone).'),
      h('p', {}, 'Fingerprint: ', h('code', { class: 'fingerprint' }, exported.fingerprint)),
      field('Public key (PEM)', pem),
      h('div', { class: 'actions' }, copy, downloadLink(new Blob([exported.pem], { type: 'application/x-pem-file' }), `${safeFileName(key.name)}.pub.pem`, 'Download .pem')),
    )
    pem.focus()
  }

  const keyItem = (key: StoredKey): HTMLElement => {
    const shareButton = h('button', { type: 'button' }, 'Share public key')
    shareButton.addEventListener('click', () => void busy(shareButton, listStatus, () => share(key)))
    const deleteButton = h('button', { type: 'button', class: 'danger' }, 'Delete')
    deleteButton.addEventListener('click', () => {
      const ok = confirm(`Delete the key "${key.name}" from this browser? Objects encrypted only to it can be opened again only by restoring its backup file.`)
      if (!ok) return
      void busy(deleteButton, listStatus, async () => {
        await app.keys.delete(key.id)
        sharePanel.replaceChildren()
        listStatus.ok(`Deleted "${key.name}" from this browser.`)
        app.changed('keys')
      })
    })
    return h(
      'li',
      { class: 'card', 'data-key-id': key.id },
      h('h3', {}, key.name),
      h(
        'dl',
        {},
        h('dt', {}, 'Key id'),
        h('dd', {}, h('code', {}, key.id)),
        h('dt', {}, 'Type'),
        h('dd', {}, key.algorithm === 'A256KW' ? 'AES-KW, 256 bits (symmetric)' : `RSA-OAEP-256, ${key.size} bits`),
        h('dt', {}, 'Created'),
        h('dd', {}, formatDate(key.createdAt)),
      ),
      h('div', { class: 'actions' }, key.algorithm === 'A256KW' ? null : shareButton, deleteButton),
    )
  }

  // ---- Create ----
  const createName = h('input', { name: 'name', required: true, autocomplete: 'off', maxlength: 100 })
  const createPass = h('input', { type: 'password', name: 'passphrase', required: true, minlength: 8, autocomplete: 'new-password' })
  const createPass2 = h('input', { type: 'password', name: 'passphrase2', required: true, minlength: 8, autocomplete: 'new-password' })
  const create = formCard(
    'create',
    'Create a key',
    'Create key',
    [
      field('Name', createName, 'For you: "Work laptop", "Phone".'),
      field('Backup passphrase', createPass, 'At least 8 characters. It seals the backup file; nobody can recover it for you.'),
      field('Repeat the passphrase', createPass2),
    ],
    async (status) => {
      if (createPass.value !== createPass2.value) throw new Error('The two passphrases differ.')
      status.info('Creating a 3072-bit key and sealing its backup (a few seconds)…')
      const { key, backup } = await app.keys.createKeyPair(createName.value, createPass.value)
      create.form.reset()
      const link = downloadLink(new Blob([backup], { type: 'application/octet-stream' }), `${safeFileName(key.name)}${BACKUP_FILE_EXTENSION}`, 'Download the backup file')
      link.id = 'backup-link'
      status.ok(
        `Created "${key.name}" (fingerprint ${key.fingerprint}). Download its backup now and keep it safe: it is the only copy of this key outside this browser, and no later export is possible. `,
        link,
      )
      link.focus()
      app.changed('keys')
      // Some browsers grant persistence more readily right after an action like this one.
      await requestPersistentStorage()
      await refreshPersistence()
    },
  )

  // ---- Restore ----
  const restoreFile = h('input', { type: 'file', name: 'backup', required: true, accept: BACKUP_FILE_EXTENSION })
  const restorePass = h('input', { type: 'password', name: 'passphrase', required: true, autocomplete: 'current-password' })
  const backupBytes = async (): Promise<Uint8Array> => new Uint8Array(await (restoreFile.files?.[0] ?? new Blob()).arrayBuffer())
  const restore = formCard(
    'restore',
    'Restore a key from its backup',
    'Restore key',
    [field('Backup file', restoreFile, `A ${BACKUP_FILE_EXTENSION} file you downloaded when the key was created.`), field('Backup passphrase', restorePass)],
    async (status) => {
      status.info('Opening the backup…')
      const key = await app.keys.restoreFromBackup(await backupBytes(), restorePass.value)
      restore.form.reset()
      status.ok(`Restored "${key.name}" (${key.id}).`)
      app.changed('keys')
    },
  )
  restoreFile.addEventListener('change', () => {
    void (async () => {
      try {
        const info = await readBackupInfo(await backupBytes())
        const here = (await app.keys.get(info.id)) !== undefined
        restore.status.info(`A backup of key ${info.id} (${info.algorithm})${here ? ', which this browser already holds' : ''}.`)
      } catch (error) {
        restore.status.error(error)
      }
    })()
  })

  // ---- Colleagues ----
  const colleagueList = h('ul', { class: 'cards', 'aria-label': 'Colleagues' })
  const colleagueName = h('input', { name: 'name', required: true, autocomplete: 'off', maxlength: 100 })
  const colleagueKey = h('textarea', { name: 'publicKey', required: true, rows: 5, class: 'pem', spellcheck: 'false', placeholder: '-----BEGIN PUBLIC KEY-----' })
  const colleague = formCard(
    'colleague',
    'Add a colleague\'s public key',
    'Add colleague',
    [
      field('Name', colleagueName),
      field('Public key', colleagueKey, 'PEM ("-----BEGIN PUBLIC KEY-----") or JWK. Compare its fingerprint with your colleague before you rely on it.'),
    ],
    async (status) => {
      const pasted = colleagueKey.value.trim()
      // core validates whatever this is (RSA-OAEP-256, 2048 bits or more) and says what is wrong.
      const jwk = (): JsonWebKey => JSON.parse(pasted)
      const added = await app.keys.recipients.add(colleagueName.value, pasted.startsWith('{') ? jwk() : pasted)
      colleague.form.reset()
      status.ok(`Added "${added.name}", fingerprint ${added.fingerprint}. You can now encrypt files for them.`)
      app.changed('keys')
    },
  )
  const colleagueItem = (r: KnownRecipient): HTMLElement => {
    const remove = h('button', { type: 'button', class: 'danger' }, 'Remove')
    remove.addEventListener('click', () => {
      if (!confirm(`Remove "${r.name}" from your colleagues?`)) return
      void busy(remove, colleague.status, async () => {
        await app.keys.recipients.delete(r.id)
        app.changed('keys')
      })
    })
    return h(
      'li',
      { class: 'card', 'data-key-id': r.id },
      h('h3', {}, r.name),
      h('dl', {}, h('dt', {}, 'Fingerprint'), h('dd', {}, h('code', {}, r.fingerprint)), h('dt', {}, 'Added'), h('dd', {}, formatDate(r.createdAt))),
      h('div', { class: 'actions' }, remove),
    )
  }

  const render = async (): Promise<void> => {
    try {
      const [own, colleagues] = await Promise.all([app.keys.list(), app.keys.recipients.list()])
      keyList.replaceChildren(...(own.length === 0 ? [h('li', { class: 'empty' }, 'No keys yet: create one below, or restore one from its backup.')] : own.map(keyItem)))
      colleagueList.replaceChildren(...(colleagues.length === 0 ? [h('li', { class: 'empty' }, 'No colleagues yet.')] : colleagues.map(colleagueItem)))
    } catch (error) {
      listStatus.error(error)
    }
  }
  app.on('keys', () => void render())

  const element = screenSection(
    'keys',
    'Keys',
    'Your keys are stored in this browser as non-extractable keys: pages can use them, nothing can copy them out. Each key has one backup file, sealed under a passphrase, made when the key is created.',
    h('div', { class: 'panel' }, h('h3', {}, 'Storage'), persistence, persistButton),
    h('h3', {}, 'Your keys'),
    keyList,
    listStatus.element,
    sharePanel,
    h('div', { class: 'columns' }, create.form, restore.form),
    h('h3', {}, 'Colleagues'),
    h('p', { class: 'muted' }, 'Public keys of people you encrypt files for. Only they can decrypt those files.'),
    colleagueList,
    colleague.form,
  )
  return {
    id: 'keys',
    title: 'Keys',
    element,
    show() {
      void render()
      void refreshPersistence()
    },
  }
}
