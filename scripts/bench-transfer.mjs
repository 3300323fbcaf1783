#!/usr/bin/env node
// `pnpm bench:transfer`: the driverless transfer benchmark (scripts/bench/driverless/server.ts, which
// says what it measures and takes the options). The browser runs as a plain process with nothing
// attached; this file only loads the TypeScript server through Vite's module runner (Node 20 has no
// type stripping) and hands it the arguments. `--tables=PATH` prints the tables of a saved report.
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runnerImport } from 'vite'

const here = join(dirname(fileURLToPath(import.meta.url)), 'bench', 'driverless')
const args = process.argv.slice(2)
const tablesArg = args.find((a) => a.startsWith('--tables='))
try {
  if (tablesArg !== undefined) {
    const { module } = await runnerImport(join(here, 'tables.ts'), { configFile: false, logLevel: 'warn' })
    module.printTables(JSON.parse(readFileSync(resolve(tablesArg.slice('--tables='.length)), 'utf8')))
  } else {
    const { module } = await runnerImport(join(here, 'server.ts'), { configFile: false, logLevel: 'warn' })
    await module.main(args)
  }
} catch (e) {
  process.stderr.write(`bench:transfer failed: ${e?.stack ?? e}\n`)
  process.exitCode = 1
}
