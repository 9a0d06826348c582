#!/usr/bin/env node
// `npm test`: lint, typecheck and test every project through Nx, then one closing line that adds up
// every Jest run ("tests: N passed, N failed"), so a reader of the log need not add it up by hand.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const resultsDir = join(process.cwd(), 'tmp', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });
mkdirSync(resultsDir, { recursive: true });

const args = ['nx', 'run-many', '-t', 'lint', 'typecheck', 'test', '--outputStyle=static', ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit', env: { ...process.env, NX_TUI: 'false' } });

let passed = 0;
let failed = 0;
let skipped = 0;
{
  for (const file of readdirSync(resultsDir).filter((name) => name.endsWith('.json'))) {
    const result = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
    passed += result.numPassedTests;
    failed += result.numFailedTests + (result.numRuntimeErrorTestSuites ?? 0);
    skipped += result.numPendingTests + result.numTodoTests;
  }
}
console.log(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(run.status ?? 1);
