#!/usr/bin/env node
// `npm run dev`: builds once (so dist exists on a fresh clone), then recompiles on every change
// and restarts the server when dist changes. Plain Node, no shell syntax, so it runs the same
// on Linux, macOS and Windows. Ctrl-C stops both.
const { spawn, spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc');
const project = ['-p', join(root, 'tsconfig.build.json')];

const first = spawnSync(process.execPath, [tsc, ...project], { cwd: root, stdio: 'inherit' });
if (first.status !== 0) {
  console.error('The first build failed; fix the errors above and run `npm run dev` again.');
  process.exit(first.status ?? 1);
}

const children = [
  spawn(process.execPath, [tsc, ...project, '--watch', '--preserveWatchOutput'], { cwd: root, stdio: 'inherit' }),
  spawn(process.execPath, ['--watch-path=dist', 'dist/index.js'], { cwd: root, stdio: 'inherit' }),
];
let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
};
for (const child of children) child.once('exit', (code) => stop(code ?? 0));
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
