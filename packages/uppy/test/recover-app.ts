// The app of the page that recover.browser.test.ts loads in an iframe and reloads (recover-page.ts
// is its entry): Uppy, its Dashboard, Golden Retriever and the Bucketseal plugin, as a user would
// have them, with what happened listed in `window.recoverPage` for the test to read. No side
// effects on import: the test imports `PAGE_READY` from here, which also lets Vite find these
// dependencies before the run (instead of reloading the test page halfway to add them).
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import Uppy, { type Meta } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import GoldenRetriever from '@uppy/golden-retriever'
import { httpSigner } from '@bucketseal/client'
import { Bucketseal, type BucketsealBody } from '../src/index.js'

export interface RecoverConfig {
  /** Uppy's id: Golden Retriever keeps its state under it, so the reloaded page must use the same. */
  readonly id: string
  readonly kek: CryptoKey
  readonly keyPrefix: string
}

export type PageEvent =
  | { readonly type: 'success'; readonly name: string; readonly body: BucketsealBody }
  | { readonly type: 'error'; readonly name: string; readonly message: string; readonly code: string | undefined }

export interface RecoverPage {
  readonly uppy: Uppy<Meta, BucketsealBody>
  readonly events: PageEvent[]
}

declare global {
  interface Window {
    recoverPage?: RecoverPage
  }
}

/** What the page posts to its parent when it is ready for its configuration. */
export const PAGE_READY = 'recover-page-ready'

export function isConfig(v: unknown): v is RecoverConfig {
  return typeof v === 'object' && v !== null && 'id' in v && 'kek' in v && v.kek instanceof CryptoKey && 'keyPrefix' in v
}

/** Starts the app in this window. */
export function start(config: RecoverConfig): void {
  const events: PageEvent[] = []
  const uppy = new Uppy<Meta, BucketsealBody>({ id: config.id })
    .use(Dashboard, { inline: true, target: document.body, disableThumbnailGenerator: true, height: 400 })
    .use(GoldenRetriever)
    .use(Bucketseal, { signer: httpSigner('/api/s3'), recipients: [config.kek], keyPrefix: config.keyPrefix, partSize: 5 * 1024 * 1024, concurrency: 1 })
  uppy.on('upload-success', (file, response) => {
    if (file !== undefined && response.body !== undefined) events.push({ type: 'success', name: file.name, body: response.body })
  })
  uppy.on('upload-error', (file, error) => {
    events.push({ type: 'error', name: file?.name ?? '', message: error.message, code: 'code' in error && typeof error.code === 'string' ? error.code : undefined })
  })
  window.recoverPage = { uppy, events }
}

