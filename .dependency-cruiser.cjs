/**
 * The service's boundaries, checked by `npm run lint`. dependency-cruiser rather than a per-file
 * ESLint rule because the api role's rule is about everything its modules reach, not only what they
 * import directly.
 */
/** Modules that need PostgreSQL: the database layer and the drivers under it. */
const POSTGRES = ['^src/(events|database)/', '^node_modules/(typeorm|pg|@nestjs/typeorm)/'];
/** Modules that need the broker. */
const BROKER = ['^src/(messaging|consumer)/', '^node_modules/amqplib/'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'src-not-to-tooling',
      comment: 'The service ships alone: src/ never imports the tests, the bench or the scripts.',
      severity: 'error',
      // Unit specs are tests, never built into the image (tsconfig.build.json): they may poll with
      // test/support/poll.ts like every other test.
      from: { path: '^src/', pathNot: '\\.spec\\.ts$' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'simulator-through-its-index',
      comment: 'The simulator is reached from outside only through its public entry point.',
      severity: 'error',
      from: { pathNot: '^src/simulator/' },
      to: { path: '^src/simulator/', pathNot: '^src/simulator/index\\.ts$' },
    },
    {
      name: 'signature-knows-no-broker-or-database',
      comment: 'Verifying a signature needs the secrets and the body, nothing stateful.',
      severity: 'error',
      from: { path: '^src/signature/', pathNot: '\\.spec\\.ts$' },
      to: { path: [...BROKER, ...POSTGRES], reachable: true },
    },
    {
      name: 'api-role-needs-no-postgres',
      comment: 'APP_ROLE=api runs without PostgreSQL: its modules reach nothing that needs it.',
      severity: 'error',
      from: { path: '^src/(webhook|signature|messaging)/', pathNot: '\\.spec\\.ts$' },
      to: { path: POSTGRES, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|coverage)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
