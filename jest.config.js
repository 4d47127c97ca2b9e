/**
 * Unit specs live beside the code; e2e specs in test/ talk to the real PostgreSQL and RabbitMQ. The
 * deploy proofs (test/deploy/) also need a Docker engine, nginx and the npm registry: `npm test`
 * selects unit and e2e only, `npm run test:deploy` (CI) runs them. `--selectProjects` takes every
 * word after it, so the scripts put `--runInBand` after it: `npm test -- <path>` stays a path.
 */
const base = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', rootDir: 'src', testRegex: '.*\\.spec\\.ts$' },
    {
      ...base,
      displayName: 'e2e',
      rootDir: 'test',
      testRegex: '.*\\.e2e-spec\\.ts$',
      globalSetup: '<rootDir>/support/global-setup.ts',
      globalTeardown: '<rootDir>/support/global-teardown.ts',
    },
    { ...base, displayName: 'deploy', rootDir: 'test', testRegex: '.*\\.deploy-spec\\.ts$' },
  ],
  testTimeout: 60000,
};
