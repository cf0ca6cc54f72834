// How TypeScript is compiled for tests: by jest (jest.config.js) and by child processes that
// run the sources directly (swc-register.js). One copy, so both compile the same way.
module.exports = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};
