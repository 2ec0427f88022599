/**
 * Three projects: `unit` needs no server and takes seconds; `deploy` packages the AWS stage with
 * the Serverless Framework several times (a minute or more); `integration` runs against the real
 * local stack.
 */
const transform = {
  '^.+\\.ts$': 'ts-jest',
  // ES-module-only dependencies, as CommonJS (test/support/esm-to-cjs.js).
  '/node_modules/@middy/.+\\.js$': '<rootDir>/test/support/esm-to-cjs.js',
};
const transformIgnorePatterns = ['/node_modules/(?!@middy/)'];
// Browser bundles are esbuild's (infra/esbuild/plugins.js); under jest an import of one gets a placeholder.
const moduleNameMapper = { '^browser-bundle:.*$': '<rootDir>/test/support/browser-bundle.js' };

module.exports = {
  // Integration tests wait on real servers; a unit test that takes this long is broken anyway.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      moduleNameMapper,
      testEnvironment: 'node',
    },
    { displayName: 'deploy', testMatch: ['<rootDir>/test/deploy/**/*.test.ts'], transform, moduleNameMapper, testEnvironment: 'node' },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // The tests' own stack (infra/stack/test-stack.ts), never the one npm start runs.
      setupFiles: ['<rootDir>/test/integration/support/test-stack-env.ts'],
      transform,
      moduleNameMapper,
      testEnvironment: 'node',
    },
  ],
};
