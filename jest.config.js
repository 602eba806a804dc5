// Two projects: unit tests need nothing; integration tests talk to a real broker
// (KAFKA_BOOTSTRAP_SERVERS) and to workers they start over HTTP.
const path = require('node:path');
// Datasets for the learners' tests: the copies in test/fixtures/datasets (identical to ../shared/datasets).
process.env.KAPPA_DATASETS_DIR ??= path.join(__dirname, 'test', 'fixtures', 'datasets');
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json' }];
module.exports = {
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform: { '^.+\\.ts$': tsJest }, testEnvironment: 'node' },
    { displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], transform: { '^.+\\.ts$': tsJest }, testEnvironment: 'node', slowTestThreshold: 30,
      // Optional Kafka in Docker (KAPPA_TESTCONTAINERS=1); a no-op by default.
      globalSetup: '<rootDir>/test/integration/global-setup.ts', globalTeardown: '<rootDir>/test/integration/global-teardown.ts' },
  ],
  testTimeout: 120000,
};
