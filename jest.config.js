/**
 * Three projects: `unit` needs no server and takes seconds; `deploy` packages the AWS stage with
 * the Serverless Framework several times (a minute or more); `integration` runs against the real
 * local stack.
 */
const transform = { '^.+\\.ts$': 'ts-jest' };

module.exports = {
  // Integration tests wait on real servers; a unit test that takes this long is broken anyway.
  testTimeout: 60_000,
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform, testEnvironment: 'node' },
    { displayName: 'deploy', testMatch: ['<rootDir>/test/deploy/**/*.test.ts'], transform, testEnvironment: 'node' },
    { displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], transform, testEnvironment: 'node' },
  ],
};
