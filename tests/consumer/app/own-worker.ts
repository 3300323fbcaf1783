/**
 * The app's own Worker, beside Bucketseal's: plain comlink, as an app that already used comlink
 * before adding Bucketseal would have it. `boom` must reach the page as a real `Error`.
 */
import { expose } from 'comlink'

const api = {
  ping(): string {
    return 'pong'
  },
  boom(): string {
    throw new Error('boom')
  },
}

export type OwnWorkerApi = typeof api

expose(api)
