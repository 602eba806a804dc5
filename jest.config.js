// Two projects: unit tests need nothing; integration tests talk to a real broker
// (KAFKA_BOOTSTRAP_SERVERS) and to workers they start over HTTP.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }];
module.exports = {
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform: { '^.+\\.ts$': tsJest }, testEnvironment: 'node' },
    { displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], transform: { '^.+\\.ts$': tsJest }, testEnvironment: 'node', slowTestThreshold: 30 },
  ],
  testTimeout: 120000,
};
