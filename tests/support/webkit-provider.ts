/// <reference types="node" />
/**
 * WebKit for the browser tests: WebKitGTK's MiniBrowser (Debian's `webkit2gtk-driver` brings it),
 * started as a process on a fresh data directory (tests/support/spawn-provider.ts). It has no
 * headless mode: without a display it runs under `xvfb-run -a` (Debian's `xvfb` and `xauth`).
 *
 * Its features are left at WebKitGTK's defaults, which are the narrow end of what Safari users
 * have: StorageAPI (navigator.storage), the origin-private file system and byte streams are off,
 * so the tests go through the library's fallbacks here (docs/ENGINES.md). To try others, set
 * BUCKETSEAL_WEBKIT_FEATURES to MiniBrowser's `--features` list (`+StorageAPI,+FileSystem,+AccessHandle`
 * is closer to Safari 17; `help` lists them).
 */
import type { BrowserProviderOption } from 'vitest/node'
import { spawnProvider } from './spawn-provider.ts'

export const miniBrowserPath = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'

export function webkit(): BrowserProviderOption {
  return spawnProvider({
    name: 'webkit-process',
    browser: 'webkit',
    commandLine(url, profileDir) {
      const features = process.env.BUCKETSEAL_WEBKIT_FEATURES
      const args = ['--enable-write-console-messages-to-stdout=true', ...(features ? [`--features=${features}`] : []), url]
      // MiniBrowser keeps its data under the XDG directories: point them at the throw-away profile.
      const env = { XDG_DATA_HOME: profileDir, XDG_CACHE_HOME: profileDir, XDG_CONFIG_HOME: profileDir }
      if (process.env.DISPLAY) return { file: miniBrowserPath, args, env }
      return { file: 'xvfb-run', args: ['-a', miniBrowserPath, ...args], env }
    },
  })
}
