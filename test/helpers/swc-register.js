// Lets a child process run the TypeScript sources directly (`node -r test/helpers/swc-register.js
// file.ts`), compiled by swc with the options jest uses: for fault tests that kill a real
// server process.
const { readFileSync } = require('node:fs');
const { transformSync } = require('@swc/core');

const options = require('./swc-options');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), { ...options, filename });
  module._compile(code, filename);
};
