/**
 * The Share dialog of the Objects screen: who can open an object, and changing that without
 * encrypting or uploading it again. Adding a recipient wraps the object's data key for their key
 * and records it in the object's metadata (a copy on the store); removing one rewrites the header.
 */
import { type Recipient, type Stanza, stanzaKeyId } from '@bucketseal/core'
import { type ShareResult, setRecipients, shareObject } from '@bucketseal/client'
import type { App } from './app.js'
import type { Entry } from './catalog.js'
import { busy, field, h, notice } from './dom.js'
import { formatBytes } from './format.js'

/** Called once a change is on the store, with the object and a sentence saying what was done. */
export type ShareDone = (objectKey: string, message: string) => Promise<void>

export interface ShareDialog {
  readonly element: HTMLDialogElement
  /**
   * Shows the dialog for `entry`, whose real name (decrypted here) is `name`.
   * @throws what opening the object throws (KEY_NOT_FOUND, WRONG_KEY, …): only a key holder can share.
   */
  open(entry: Entry, name: string): Promise<void>
}

/** Why removing a recipient is not a revocation of what they already have. */
const REMOVAL_LIMITS =
  'A removed recipient keeps any copy they already downloaded, and anyone who kept the data key keeps access until the file is encrypted and uploaded again.'

/** An entry the object already has: it wraps the same data key, so it is kept byte for byte. */
function kept(stanza: Stanza): Recipient {
  return { wrap: async () => stanza }
}

function how(result: ShareResult): string {
  return result.mode === 'metadata' ? 'metadata' : `header rewritten, ${formatBytes(result.bytesSent)} sent by this page`
}

/** @example const dialog = shareDialog(app, (key, message) => refreshRow(key, message)); await dialog.open(entry, 'a.txt') */
export function shareDialog(app: App, done: ShareDone): ShareDialog {
  const heading = h('h3', { id: 'share-heading' })
  const list = h('ul', { class: 'recipients-list', 'aria-labelledby': 'share-who' })
  const select = h('select', { name: 'recipient' })
  const shareButton = h('button', { type: 'submit' }, 'Share')
  const closeButton = h('button', { type: 'button' }, 'Close')
  const status = notice()
  const form = h(
    'form',
    {},
    field('Share with', select, 'One of your keys, or a colleague\'s public key added on the Keys screen.'),
    h('div', { class: 'actions' }, shareButton, closeButton),
  )
  const element = h(
    'dialog',
    { class: 'share-dialog', 'aria-labelledby': 'share-heading' },
    heading,
    h('h4', { id: 'share-who' }, 'Who can open it'),
    list,
    h('p', { class: 'hint' }, REMOVAL_LIMITS),
    form,
    status.element,
  )
  closeButton.addEventListener('click', () => element.close())
  const names = (): Promise<ReadonlyMap<string, string>> => app.keyNames()

  // What the open dialog acts on; replaced each time it opens.
  let submit: () => Promise<void> = async () => undefined
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void busy(shareButton, status, submit, names)
  })

  const open = async (entry: Entry, name: string): Promise<void> => {
    const [recipients, own, colleagues, known] = await Promise.all([app.catalog.recipients(entry), app.keys.list(), app.keys.recipients.list(), names()])
    const ownIds = new Set(own.map((k) => k.id))
    // The key that unwraps the data key here, and so is never offered for removal. One in the body
    // header if there is one: shareObject and setRecipients unwrap from the body header's entries
    // only, so a key that was added in the metadata cannot share further (they answer WRONG_KEY).
    const opener = recipients.keyIds.find((id) => ownIds.has(id) && recipients.inHeader.has(id)) ?? recipients.keyIds.find((id) => ownIds.has(id))
    if (opener === undefined) throw new Error('None of the keys in this browser is a recipient of this object, so it cannot share it.')
    const options = { signer: app.signer, keys: await app.keys.identitiesFor({ keyIds: [opener] }) }
    const label = (id: string): string => known.get(id) ?? `key ${id}`

    const remove = (id: string): HTMLButtonElement => {
      const button = h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${label(id)}` }, 'Remove')
      button.addEventListener('click', () => {
        void busy(
          button,
          status,
          async () => {
            const rest = recipients.stanzas.filter((s) => stanzaKeyId(s) !== id).map(kept)
            const result = await setRecipients(entry.key, rest, options)
            element.close()
            await done(entry.key, `Removed "${label(id)}" (${how(result)}).`)
          },
          names,
        )
      })
      return button
    }
    list.replaceChildren(
      ...recipients.keyIds.map((id) =>
        h(
          'li',
          { 'data-key-id': id },
          h('span', {}, label(id)),
          recipients.inHeader.has(id) ? null : h('span', { class: 'muted' }, ' · in the metadata'),
          id === opener ? h('span', { class: 'muted' }, ' · your key that opens it here') : remove(id),
        ),
      ),
    )

    const candidates = [...own.map((k) => ({ id: k.id, text: `${k.name} (you)` })), ...colleagues.map((k) => ({ id: k.id, text: `${k.name} (colleague)` }))].filter(
      (c) => !recipients.keyIds.includes(c.id),
    )
    select.replaceChildren(...candidates.map((c) => h('option', { value: c.id }, c.text)))
    select.disabled = shareButton.disabled = candidates.length === 0
    if (candidates.length === 0) status.info('Every key this browser knows can open it already. Add a colleague\'s public key on the Keys screen to share it with them.')
    else status.clear()
    submit = async () => {
      const id = select.value
      const result = await shareObject(entry.key, [await app.keys.recipientKey(id)], options)
      element.close()
      await done(entry.key, `"${label(id)}" can open it now: shared without re-upload (${how(result)}).`)
    }
    heading.textContent = `Share "${name}"`
    element.showModal()
    // Start on the choice of recipient rather than on the first Remove button.
    const first: HTMLElement = select.disabled ? closeButton : select
    first.focus()
  }
  return { element, open }
}
