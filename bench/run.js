#!/usr/bin/env node
// Runs the benchmark scenarios (all, or those whose file names contain an argument) and
// prints, for each, req/s and latency against the baseline measured in the same run.
// `--record` also appends the tables to bench/RESULTS.md with the date and the machine.
const { appendFileSync, readdirSync } = require('node:fs');
const os = require('node:os');
const { join } = require('node:path');
const { fmt } = require('./lib');

function table(title, { rows, baseline, notes }) {
  let md = `\n### ${title}\n\n| run | req/s | p50 ms | p99 ms | ratio vs baseline |\n|---|---:|---:|---:|---:|\n`;
  for (const r of rows) md += `| ${r.label} | ${fmt(r.rps)} | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.rps / baseline.rps, 2)}× |\n`;
  return notes ? `${md}\n${notes}\n` : md;
}

async function main() {
  const args = process.argv.slice(2);
  const only = args.filter((a) => !a.startsWith('--'));
  const files = readdirSync(join(__dirname, 'scenarios')).filter((f) => f.endsWith('.js') && (!only.length || only.some((o) => f.includes(o))));
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  let report = `\n## ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`;
  process.stdout.write(report);
  for (const file of files) {
    const scenario = require(join(__dirname, 'scenarios', file));
    // A scenario returns one result, or several (each with its own title and baseline).
    const result = await scenario.run();
    const md = (Array.isArray(result) ? result : [{ title: scenario.name, ...result }]).map((r) => table(r.title, r)).join('');
    process.stdout.write(md);
    report += md;
  }
  if (args.includes('--record')) appendFileSync(join(__dirname, 'RESULTS.md'), report);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
