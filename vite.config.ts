import { playwright } from '@vitest/browser-playwright';
import { defineConfig, type TestProjectConfiguration, type ViteUserConfig } from 'vitest/config';
import type { BrowserInstanceOption, BrowserProviderOption } from 'vitest/node';
import { firefox } from './tests/support/firefox-provider.ts';
import { ProjectSummaryReporter } from './tests/support/project-summary-reporter.ts';
import { s3HarnessCommands, s3HarnessPlugin } from './tests/support/s3-harness.ts';
import { webkit } from './tests/support/webkit-provider.ts';

// Debian's chromium (apt-get install chromium). Playwright cannot download its
// own browsers here, so we always point it at a system binary.
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Flags known to work on the CI machines (closed network, running as root).
// Without the background-networking flags Chromium keeps trying to reach
// Google's hosts and gets refused.
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Every *.test.ts runs in Node and in the three browser engines, except:
//   *.node.test.ts    -> core:node only (may use node: modules)
//   *.browser.test.ts -> the browsers only (core:chromium, core:firefox, core:webkit)
const testFiles = ['packages/*/test/**/*.test.ts'];
const TIMEOUT_MS = 60_000;

// scripts/test.sh sets this to also write a JSON report it can summarise, and beside it
// (vitest.projects.json) each project's counts and wall time, which Vitest's JSON report lacks.
const jsonReport = process.env.BUCKETSEAL_TEST_REPORT;
const reporters: NonNullable<NonNullable<ViteUserConfig['test']>['reporters']> = jsonReport
  ? ['default', ['json', { outputFile: jsonReport }], new ProjectSummaryReporter(jsonReport.replace(/(\.json)?$/, '.projects.json'))]
  : ['default'];

/** The browser tests in one engine: Vitest wants one provider per parent project. */
function browserProject(instance: BrowserInstanceOption, provider: BrowserProviderOption): TestProjectConfiguration {
  return {
    extends: true,
    // The presigning handler on the test page's origin, in front of the RGW that
    // scripts/test.sh starts (through a fault-injecting proxy), for the upload tests.
    plugins: [s3HarnessPlugin()],
    test: {
      // Parent name only; Vitest replaces this project with its browser instance, and the
      // instance name is the one shown and used with --project (it must differ from the parent's).
      name: `browser:${instance.browser}`,
      include: testFiles,
      exclude: ['**/node_modules/**', '**/*.node.test.ts'],
      browser: {
        enabled: true,
        headless: true,
        screenshotFailures: false,
        provider,
        instances: [instance],
        commands: s3HarnessCommands,
      },
    },
  };
}

export default defineConfig({
  test: {
    testTimeout: TIMEOUT_MS,
    hookTimeout: TIMEOUT_MS,
    reporters,
    projects: [
      {
        extends: true,
        test: {
          name: 'core:node',
          environment: 'node',
          include: testFiles,
          exclude: ['**/node_modules/**', '**/*.browser.test.ts'],
        },
      },
      browserProject(
        { browser: 'chromium', name: 'core:chromium' },
        playwright({ launchOptions: { executablePath: chromiumPath, args: chromiumArgs } }),
      ),
      // Firefox and WebKit are started as plain processes (tests/support/spawn-provider.ts). Vitest
      // runs such providers one after the other, after Chromium: one browser at a time beside
      // core:node on the two cores, and one engine at a time on the shared fault proxy, whose
      // counters the upload tests reset and read. docs/ENGINES.md says what each engine gets.
      browserProject({ browser: 'firefox', name: 'core:firefox' }, firefox()),
      browserProject({ browser: 'webkit', name: 'core:webkit' }, webkit()),
      {
        extends: true,
        test: {
          // The demo app driven in Chromium by playwright-core (tests/e2e/, Node side): one journey
          // whose steps depend on each other, so its files run one at a time, after the other
          // projects (groupOrder) so they do not compete for the two cores.
          name: 'e2e',
          environment: 'node',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // The packages as users get them (tests/consumer/): packed, installed with npm into a scratch
          // app, bundled by Vite (dev and build), webpack 5 and esbuild, driven in Chromium. Last
          // (groupOrder 2: after e2e, not beside it), one file at a time, for the two cores.
          name: 'consumer',
          environment: 'node',
          include: ['tests/consumer/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
