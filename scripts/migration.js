#!/usr/bin/env node
// MySQL migrations: `up` applies pending ones; `create` writes a new one from the difference
// between the entities and a database migrated to the latest, then adds it to
// src/db/migrations/index.ts. Uses DATABASE_URL (a mysql:// URL) from the environment or .env.
require('reflect-metadata');
const { readFileSync, readdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { loadConfig } = require('../dist/config');
const { openOrm } = require('../dist/db/orm');

async function main(command) {
  const config = loadConfig();
  if (config.database.kind !== 'mysql') throw new Error('Set DATABASE_URL to a mysql:// URL: migrations are for MySQL/MariaDB');
  const orm = await openOrm(config.database, { migrate: true, log: (m) => console.log(m) });
  try {
    if (command === 'create') {
      const result = await orm.migrator.createMigration(join(__dirname, '..', 'src', 'db', 'migrations'));
      if (!result.fileName) console.log('No changes: entities and database agree.');
      else {
        dropMariadbNullDefaultNoise(join(__dirname, '..', 'src', 'db', 'migrations', result.fileName));
        console.log(`Created src/db/migrations/${result.fileName}`);
      }
      writeIndex();
    } else if (command === 'up') {
      console.log('Migrations are up to date.');
    } else {
      throw new Error('usage: migration.js create|up');
    }
  } finally {
    await orm.close(true);
  }
}

// MariaDB reports a nullable column's default as the string 'NULL'; MikroORM's MySQL driver
// then proposes `modify <col> varchar(n)` (and, in down(), a literal 'NULL' default) for every
// nullable varchar or text. Those statements change nothing (or worse), so they are dropped here.
function dropMariadbNullDefaultNoise(file) {
  const noise = /^\s*this\.addSql\(`alter table \\`\w+\\` (modify \\`\w+\\` (varchar\(\d+\)|text)( default (\('NULL'\)|'NULL'))?(, )?)+;`\);\n/gm;
  // MariaDB also reports a string default quoted ('USER' as "'USER'"), so every NOT NULL varchar
  // with a default is proposed again, unchanged.
  const quotedDefaults = /^\s*this\.addSql\(`alter table \\`\w+\\` (modify \\`\w+\\` varchar\(\d+\) not null default '[A-Z_]+'(, )?)+;`\);\n/gm;
  writeFileSync(file, readFileSync(file, 'utf8').replace(noise, '').replace(quotedDefaults, ''));
}

function writeIndex() {
  const dir = join(__dirname, '..', 'src', 'db', 'migrations');
  const names = readdirSync(dir).filter((f) => /^Migration\d+.*\.ts$/.test(f)).map((f) => f.replace(/\.ts$/, '')).sort();
  const imports = names.map((n) => `import { ${n} } from './${n}';`).join('\n');
  writeFileSync(
    join(dir, 'index.ts'),
    `${imports}${imports ? '\n\n' : ''}/**\n * MySQL migrations in order. \`npm run migration:create\` writes a new file here and adds it\n * to this list; listing them explicitly lets the same code run from src (tests) and dist.\n */\nexport const MIGRATIONS = [${names.map((n) => `{ name: '${n}', class: ${n} }`).join(', ')}] as const;\n`,
  );
}

main(process.argv[2]).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
