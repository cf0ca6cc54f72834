#!/usr/bin/env node
// Rewrites the reasons table of docs/errors.md from the reasons declared in
// src/core/errors.ts, so the reference never drifts from the code. Reads the compiled
// dist/core/errors.js: run it after `npm run build` (`npm run generate` does both).
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { REASONS_BY_CODE } = require('../dist/core/errors');

const DOC = join(__dirname, '..', 'docs', 'errors.md');
const START = '<!-- reasons:start -->';
const END = '<!-- reasons:end -->';

// A pipe would end the table cell early.
const cell = (text) => text.replace(/\|/g, '\\|');

function table(byCode) {
  const rows = ['| Reason | Code | Meaning |', '| --- | --- | --- |'];
  for (const [code, reasons] of Object.entries(byCode)) {
    for (const [reason, description] of Object.entries(reasons)) rows.push(`| \`${reason}\` | \`${code}\` | ${cell(description)} |`);
  }
  return rows.join('\n');
}

const doc = readFileSync(DOC, 'utf8');
const start = doc.indexOf(START);
const end = doc.indexOf(END);
if (start < 0 || end < start) throw new Error(`${DOC} needs the markers ${START} and ${END}, in that order`);
const updated = `${doc.slice(0, start + START.length)}\n${table(REASONS_BY_CODE)}\n${doc.slice(end)}`;
if (updated !== doc) writeFileSync(DOC, updated);
console.log(`docs/errors.md: ${Object.values(REASONS_BY_CODE).reduce((n, reasons) => n + Object.keys(reasons).length, 0)} reasons`);
