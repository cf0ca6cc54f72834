#!/usr/bin/env node
// Operators: `npm run admin -- grant <user id or openid>` / `revoke ...`. The only way to
// make or unmake an admin (no API can): it runs on the server, with the server's own config
// (.env / DATABASE_URL) and ORM, from the compiled code in dist like scripts/migration.js.
require('reflect-metadata');
const { loadConfig } = require('../dist/config');
const { openOrm } = require('../dist/db/orm');
const { setAdminRole } = require('../dist/admin/admin-role');

async function main([command, who]) {
  if (!['grant', 'revoke'].includes(command) || !who) throw new Error('usage: npm run admin -- grant|revoke <user id or openid>');
  const config = loadConfig();
  const orm = await openOrm(config.database, { migrate: false });
  try {
    const r = await setAdminRole(orm.em.fork(), who, command === 'grant');
    const whom = `${r.userId} (openid ${r.openid}, nickname ${JSON.stringify(r.nickName)})`;
    if (!r.changed) console.log(`${whom} is already ${r.role === 'ADMIN' ? 'an admin' : 'not an admin'}; nothing changed.`);
    else console.log(command === 'grant' ? `Granted ADMIN to ${whom}.` : `Revoked ADMIN from ${whom}: their next admin call is refused.`);
  } finally {
    await orm.close(true);
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err.message);
  process.exit(1);
});
