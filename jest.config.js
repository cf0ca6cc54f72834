/** @type {import('jest').Config} */
const swc = require('./test/helpers/swc-options');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|m?j)sx?$': ['@swc/jest', swc] },
  // These packages ship only ES modules; swc turns them into CommonJS for jest.
  transformIgnorePatterns: ['/node_modules/(?!(graphql-upload|fs-capacitor|jose)/)'],
  setupFiles: ['<rootDir>/test/helpers/setup-env.ts'],
  testTimeout: 30000,
  // Each test file starts its own app and database; two workers fit this 2-core machine.
  maxWorkers: 2,
};
