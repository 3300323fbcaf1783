/** What every screen shares: the key store, the presigning client, the object catalog, navigation. */
import { KeyStore } from '@bucketseal/keys'
import { type SharingSigner, httpSigner } from '@bucketseal/client'
import type { DemoConfig } from './api.js'
import { Catalog } from './catalog.js'

export type ScreenId = 'keys' | 'upload' | 'uppy' | 'objects' | 'download'

export interface Screen {
  readonly id: ScreenId
  readonly title: string
  readonly element: HTMLElement
  /** Called each time the screen is shown; `params` come from the address (`#download?key=…`). */
  show(params: URLSearchParams): void
}

/** Things that change under several screens. */
export type Change = 'keys' | 'objects'

export class App {
  readonly keys = new KeyStore()
  /** Presigns uploads, downloads and (for sharing) copies of objects onto themselves. */
  readonly signer: SharingSigner = httpSigner('/api/s3')
  readonly catalog = new Catalog(this.signer, this.keys)
  readonly #events = new EventTarget()

  constructor(readonly config: DemoConfig) {}

  changed(what: Change): void {
    if (what === 'keys') this.catalog.forget()
    this.#events.dispatchEvent(new Event(what))
  }

  on(what: Change, listener: () => void): void {
    this.#events.addEventListener(what, listener)
  }

  go(screen: ScreenId, params: Readonly<Record<string, string>> = {}): void {
    const query = new URLSearchParams(params).toString()
    location.hash = query === '' ? screen : `${screen}?${query}`
  }

  /** Key id → name, for own keys and colleagues: messages name keys the way the person does. */
  async keyNames(): Promise<Map<string, string>> {
    const [own, colleagues] = await Promise.all([this.keys.list(), this.keys.recipients.list()])
    return new Map([...colleagues.map((k) => [k.id, `${k.name} (colleague)`] as const), ...own.map((k) => [k.id, k.name] as const)])
  }
}
