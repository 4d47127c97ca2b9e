import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { validateEnv, type Env } from '../../src/config/env.schema';
import { AMQP_URL, TEST_SECRET, runDatabaseUrl, uniquePrefix } from './env';

export interface TestApp {
  app: INestApplication;
  url: string;
  env: Env;
  close(): Promise<void>;
}

/**
 * Builds the real application in this process, exactly as main.ts does (same modules, same
 * configureApp), against the real PostgreSQL and RabbitMQ, listening on a free port.
 */
export async function startApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const env = validateEnv({
    WEBHOOK_SECRETS: TEST_SECRET,
    DATABASE_URL: runDatabaseUrl(),
    AMQP_URL,
    AMQP_PREFIX: uniquePrefix('app'),
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  const app = await NestFactory.create(AppModule.forRoot(env), { bodyParser: false, logger: false });
  configureApp(app, env);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, env, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
