/// <reference types="node" />
/**
 * A Vitest browser provider that starts a browser as a plain process pointed at the test page.
 * The page talks to Vitest over its own WebSocket, so the tests need nothing from a driver: no
 * geckodriver (Debian has none, and npm's downloads a binary), no WebDriver session. Each page gets
 * a fresh, throw-away profile, so no IndexedDB or OPFS state survives from one run to the next.
 *
 * What this gives up: userEvent, screenshots, CDP and module mocking through the provider (Vitest
 * runs such a provider's files one at a time, after the parallel providers; no test here needs
 * them). A browser that dies is reported with the end of its log.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineBrowserProvider } from '@vitest/browser'
import type { BrowserProvider, BrowserProviderOption } from 'vitest/node'

/** The command that opens `url` with its state under `profileDir` (empty, removed afterwards). */
export interface BrowserCommandLine {
  readonly file: string
  readonly args: readonly string[]
  readonly env?: Readonly<Record<string, string>>
}

export interface SpawnedBrowser {
  /** The provider's name in Vitest's output. */
  readonly name: string
  /** The `browser` value of the instance that uses it ('firefox', 'webkit'). */
  readonly browser: string
  /** Prepares `profileDir` (prefs files and so on) and says how to start the browser. */
  commandLine(url: string, profileDir: string): BrowserCommandLine
}

interface Running {
  readonly child: ChildProcess
  readonly profileDir: string
  readonly exited: Promise<void>
  closing: boolean
}

const KILL_AFTER_MS = 5_000

class SpawnProvider implements BrowserProvider {
  readonly name: string
  readonly supportsParallelism = false
  private readonly running = new Map<string, Running>()

  constructor(private readonly spec: SpawnedBrowser) {
    this.name = spec.name
  }

  getCommandsContext(): Record<string, unknown> {
    return {}
  }

  async openPage(sessionId: string, url: string): Promise<void> {
    await this.stop(sessionId)
    const profileDir = mkdtempSync(join(tmpdir(), `bucketseal-${this.spec.browser}-`))
    const cmd = this.spec.commandLine(url, profileDir)
    const logPath = join(profileDir, 'browser.log')
    const log = openSync(logPath, 'a')
    // detached: its own process group, so stop() also ends what it starts (xvfb-run's Xvfb,
    // Firefox's and WebKit's content processes).
    const child = spawn(cmd.file, cmd.args, { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...cmd.env } })
    closeSync(log)
    const entry: Running = {
      child,
      profileDir,
      closing: false,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    }
    child.once('exit', (code, signal) => {
      if (entry.closing) return
      let tail = ''
      try {
        tail = readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n')
      } catch {
        // The log is gone with the profile.
      }
      console.error(`[${this.name}] ${cmd.file} exited early (code ${code}, signal ${signal}). End of its log:\n${tail}`)
    })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve())
      child.once('error', reject)
    })
    this.running.set(sessionId, entry)
  }

  private async stop(sessionId: string): Promise<void> {
    const entry = this.running.get(sessionId)
    if (entry === undefined) return
    this.running.delete(sessionId)
    entry.closing = true
    const pid = entry.child.pid
    if (pid !== undefined && entry.child.exitCode === null && entry.child.signalCode === null) {
      const signal = (s: NodeJS.Signals): void => {
        try {
          process.kill(-pid, s)
        } catch {
          // Already gone.
        }
      }
      signal('SIGTERM')
      const timer = setTimeout(() => signal('SIGKILL'), KILL_AFTER_MS)
      await entry.exited
      clearTimeout(timer)
      // Children that outlived the group leader (a content process, Xvfb).
      signal('SIGKILL')
    }
    rmSync(entry.profileDir, { recursive: true, force: true })
  }

  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stop(id)))
  }
}

/** A Vitest browser provider for `spec` (see the file comment). */
export function spawnProvider(spec: SpawnedBrowser): BrowserProviderOption {
  return defineBrowserProvider({
    name: spec.name,
    supportedBrowser: [spec.browser],
    providerFactory: () => new SpawnProvider(spec),
  })
}
