/** Tests run from TypeScript sources directly (ts-jest, transpile only; `npm run typecheck` checks types). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // Builds the test-only emulation addon (build/Release/worldkit_emu.node) when out of date.
  globalSetup: '<rootDir>/test/setup/global_setup.js',
  testTimeout: 120000,
  maxWorkers: 2,
};
