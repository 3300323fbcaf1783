/// <reference types="node" />
/**
 * Firefox for the browser tests: Debian's `firefox-esr`, headless, started as a process on a fresh
 * profile (tests/support/spawn-provider.ts; there is no geckodriver to drive it).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BrowserProviderOption } from 'vitest/node'
import { spawnProvider } from './spawn-provider.ts'

export const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'

/**
 * Prefs of the test profile. The first two answer the permission prompt that headless Firefox
 * would otherwise leave open forever, so `navigator.storage.persist()` settles (granted) as it does
 * for a user who clicks Allow. The rest keep a closed network quiet and skip first-run pages.
 */
export const FIREFOX_TEST_PREFS: Readonly<Record<string, boolean | number | string>> = {
  'dom.storageManager.prompt.testing': true,
  'dom.storageManager.prompt.testing.allow': true,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.aboutwelcome.enabled': false,
  'browser.sessionstore.resume_from_crash': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'browser.region.network.url': '',
  'browser.newtabpage.enabled': false,
  'dom.disable_open_during_load': false,
}

export function firefox(): BrowserProviderOption {
  return spawnProvider({
    name: 'firefox-process',
    browser: 'firefox',
    commandLine(url, profileDir) {
      const lines = Object.entries(FIREFOX_TEST_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
      writeFileSync(join(profileDir, 'user.js'), `${lines.join('\n')}\n`)
      return {
        file: firefoxPath,
        args: ['--headless', '--no-remote', '--profile', profileDir, url],
        env: { MOZ_CRASHREPORTER_DISABLE: '1' },
      }
    },
  })
}
