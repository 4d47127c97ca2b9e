import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { openApiDocument } from './common/openapi-document';
import { RetryLaterFilter } from './common/retry-later.filter';
import { configSlices, type ConfigSlices } from './config/config.slices';
import type { Env } from './config/env.schema';
import { packageVersion } from './config/version';
import { Lifecycle } from './lifecycle/lifecycle';

export interface CreatedApp {
  app: INestApplication;
  config: ConfigSlices;
}

/**
 * Builds the application of a validated environment exactly as main.ts runs it; the e2e tests
 * build theirs with it too. No global body parser: POST /webhook reads raw bytes itself.
 */
export async function createApp(
  env: Env,
  { logger }: { logger?: false | LoggerService } = {},
): Promise<CreatedApp> {
  const config = configSlices(env, packageVersion());
  const app = await NestFactory.create(AppModule.forRoot(config), {
    bodyParser: false,
    ...(logger === false ? { logger: false } : { bufferLogs: true }),
  });
  configureApp(app, config);
  return { app, config };
}

function configureApp(app: INestApplication, config: ConfigSlices): void {
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new RetryLaterFilter());
  // No ETag on webhook answers nor a framework banner: both are work and noise for no client.
  const express = app.getHttpAdapter().getInstance() as { set(setting: string, value: unknown): void };
  express.set('etag', false);
  express.set('x-powered-by', false);
  boundSlowClients(app.getHttpServer() as Server, config.http.requestTimeoutMs);
  const lifecycle = app.get(Lifecycle);
  // Once shutting down, every answer closes its connection so keep-alive clients move elsewhere.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (lifecycle.shuttingDown) res.setHeader('Connection', 'close');
    next();
  });
  setUpSwagger(app, config);
}

/**
 * A client that sends its headers and then stalls, never finishes its headers, or promises more
 * body than it sends is answered 408 and cut off once HTTP_REQUEST_TIMEOUT_MS has passed since its
 * request began (headers alone get at most 10 s); Node's defaults hold such a connection for up to
 * five minutes. Node looks for such connections every `connectionsCheckingInterval` (read when the
 * server starts listening), so a stalled client is held at most the timeout plus that interval,
 * however many there are; good requests are not affected by how many such connections are open.
 */
export const CLIENT_BOUNDS = { headersTimeoutMs: 10_000, checkEveryMs: 500 };

function boundSlowClients(server: Server, requestTimeoutMs: number): void {
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(CLIENT_BOUNDS.headersTimeoutMs, requestTimeoutMs);
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    CLIENT_BOUNDS.checkEveryMs;
}

/** /docs shows the routes this role serves: the webhook (api, all), the operations API (worker, all). */
function setUpSwagger(app: INestApplication, config: ConfigSlices): void {
  SwaggerModule.setup('docs', app, openApiDocument(app, config.app), { jsonDocumentUrl: 'docs-json' });
}
