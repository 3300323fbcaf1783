/** The demo page: five screens behind a hash router (#keys, #upload, #uppy, #objects, #download?key=…). */
import './style.css'
import { getConfig } from './api.js'
import { App, type Screen, type ScreenId } from './app.js'
import { downloadScreen } from './download-screen.js'
import { keysScreen } from './keys-screen.js'
import { objectsScreen } from './objects-screen.js'
import { uploadScreen } from './upload-screen.js'
import { uppyScreen } from './uppy-screen.js'

const main = document.getElementById('main')
const banner = document.getElementById('store')

async function start(): Promise<void> {
  if (main === null || banner === null) throw new Error('index.html lacks #main or #store.')
  const config = await getConfig()
  banner.textContent = `Store: ${config.store.label} (${config.store.host}), bucket "${config.store.bucket}". It receives only ciphertext.`
  const app = new App(config)
  const screens: readonly Screen[] = [keysScreen(app), uploadScreen(app), uppyScreen(app), objectsScreen(app), downloadScreen(app)]
  main.append(...screens.map((s) => s.element))

  let first = true
  const route = async (): Promise<void> => {
    const [name = '', query = ''] = location.hash.slice(1).split('?')
    const fallback: ScreenId = (await app.keys.list()).length === 0 ? 'keys' : 'upload'
    const current = screens.find((s) => s.id === name) ?? screens.find((s) => s.id === fallback)
    if (current === undefined) return
    for (const s of screens) s.element.hidden = s !== current
    for (const link of document.querySelectorAll('nav a')) {
      if (link.getAttribute('href') === `#${current.id}`) link.setAttribute('aria-current', 'page')
      else link.removeAttribute('aria-current')
    }
    document.title = `${current.title} · Bucketseal demo`
    current.show(new URLSearchParams(query))
    // Move focus to the new screen's heading, as a page load would (but not on the first load).
    if (!first) current.element.querySelector('h2')?.focus()
    first = false
  }
  window.addEventListener('hashchange', () => void route())
  await route()
  document.body.dataset['ready'] = 'true'
}

start().catch((error: unknown) => {
  if (banner !== null) {
    banner.textContent = `The demo could not start: ${error instanceof Error ? error.message : String(error)}`
    banner.classList.add('error')
  }
})
