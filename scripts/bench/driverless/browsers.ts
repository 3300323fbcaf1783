/**
 * The browsers, started as plain processes on the benchmark's URL: no Playwright, no DevTools
 * protocol, no WebDriver BiDi, nothing attached that could capture request bodies. Each gets a
 * profile directory of its own on disk (not /tmp, a RAM disk on some machines: the input file lives
 * in the profile's origin-private file system).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIREFOX_TEST_PREFS } from '../../../tests/support/firefox-provider.ts'

export type Engine = 'chromium' | 'firefox' | 'webkit'

export interface RunningBrowser {
  readonly engine: Engine
  /** Root of the process tree to measure. */
  readonly pid: number
  /** Processes in the tree that are not the browser (Xvfb under xvfb-run). */
  readonly exclude: RegExp | undefined
  readonly exited: Promise<number | null>
  stop(): Promise<void>
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'
const MINIBROWSER = process.env.MINIBROWSER_PATH ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'

/** The flags of vite.config.ts (the ones the tests use), plus a fresh user data directory. */
function chromiumArgs(profile: string, url: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    url,
  ]
}

/**
 * tests/support/firefox-provider.ts's prefs (a quiet closed network, no first-run pages), and a
 * fixed storage limit: the default is a share of the free disk, which may not fit a 4 GiB input
 * file in one origin's group (20% of the limit).
 */
const FIREFOX_PREFS: Readonly<Record<string, boolean | number | string>> = {
  // The tests' prefs (persist() settles, a closed network stays quiet, no first-run pages).
  ...FIREFOX_TEST_PREFS,
  'dom.quotaManager.temporaryStorage.fixedLimit': 50 * 1024 * 1024, // KiB: 50 GiB
}

function command(engine: Engine, profile: string, url: string): { file: string; args: string[]; env: NodeJS.ProcessEnv } {
  if (engine === 'chromium') return { file: CHROMIUM, args: chromiumArgs(profile, url), env: {} }
  if (engine === 'firefox') {
    const lines = Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
    writeFileSync(join(profile, 'user.js'), `${lines.join('\n')}\n`)
    return { file: FIREFOX, args: ['--headless', '--no-remote', '--profile', profile, url], env: { MOZ_CRASHREPORTER_DISABLE: '1' } }
  }
  // WebKitGTK's defaults leave the origin-private file system off; Safari has it.
  const env = { XDG_DATA_HOME: profile, XDG_CACHE_HOME: profile, XDG_CONFIG_HOME: profile }
  return { file: 'xvfb-run', args: ['-a', MINIBROWSER, '--features=+StorageAPI,+FileSystem,+AccessHandle', url], env }
}

/**
 * Starts `engine` on `url` with its state in `profile` (created if missing, kept: a second start
 * on the same profile finds the input file there). Its output goes to `profile`/browser.log.
 */
export function startBrowser(engine: Engine, profile: string, url: string): RunningBrowser {
  mkdirSync(profile, { recursive: true })
  const cmd = command(engine, profile, url)
  const log = openSync(join(profile, 'browser.log'), 'a')
  // Its own process group, so stop() ends everything it started.
  const child: ChildProcess = spawn(cmd.file, cmd.args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...cmd.env } })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${cmd.file}`)
  return {
    engine,
    pid,
    exclude: engine === 'webkit' ? /^(Xvfb|xvfb-run|xauth)$/ : undefined,
    exited,
    async stop() {
      const signal = (s: NodeJS.Signals): void => {
        try {
          process.kill(-pid, s)
        } catch {
          // already gone
        }
      }
      signal('SIGTERM')
      const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))])
      if (!gone) signal('SIGKILL')
      await new Promise((r) => setTimeout(r, 500))
    },
  }
}
