// The page recover.browser.test.ts loads in an iframe and reloads: it waits for its configuration
// (the key arrives by postMessage, which clones it into this page's realm) and starts the app.
import { PAGE_READY, isConfig, start } from './recover-app.js'

window.addEventListener('message', (event) => {
  if (event.origin === location.origin && isConfig(event.data)) start(event.data)
})
parent.postMessage(PAGE_READY, location.origin)
