import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.setup';
import { validateEnv, type Env } from '../../src/config/env.schema';
import { AMQP_URL, TEST_SECRET, runDatabaseUrl, uniquePrefix } from './env';
import { waitFor } from './poll';

export interface TestApp {
  app: INestApplication;
  url: string;
  env: Env;
  close(): Promise<void>;
}

/**
 * Builds the real application in this process, exactly as main.ts does (createApp), against the
 * real PostgreSQL and RabbitMQ, listening on a free port. Resolves once
 * /health/ready answers 200 (unless `waitUntilReady` is false), so a first request does not race
 * the broker connection.
 */
export async function startApp(
  overrides: Record<string, string> = {},
  { waitUntilReady = true }: { waitUntilReady?: boolean } = {},
): Promise<TestApp> {
  const env = validateEnv({
    WEBHOOK_SECRETS: TEST_SECRET,
    DATABASE_URL: runDatabaseUrl(),
    AMQP_URL,
    AMQP_PREFIX: uniquePrefix('app'),
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  const { app } = await createApp(env, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  if (waitUntilReady) {
    await waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, {
      timeoutMs: 30000,
      what: `${env.APP_ROLE} app ready`,
    });
  }
  return { app, env, url, close: () => app.close() };
}
