import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { redoclyLint } from './support/redocly';
import { ScratchDatabase } from './support/scratch-database';

const ADMIN_KEY = 'admin-key-of-the-openapi-lint-0123456789abcdef';

describe('the OpenAPI document of each role passes redocly lint (recommended rules)', () => {
  let scratch: ScratchDatabase;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('openapi_lint');
  });

  afterAll(async () => {
    const probe = await BrokerProbe.connect();
    for (const app of apps) {
      await app.close();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
    }
    await probe.close();
    await scratch?.drop();
  });

  it.each(['api', 'worker', 'all'])('role %s: no error, no warning', async (role) => {
    const app = await startApp({ APP_ROLE: role, DATABASE_URL: scratch.url, ADMIN_API_KEYS: ADMIN_KEY });
    apps.push(app);
    const document: unknown = await (await fetch(`${app.url}/docs-json`)).json();
    const problems = await redoclyLint(document);
    expect(problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)).toEqual(
      [],
    );
  });
});
