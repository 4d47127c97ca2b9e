import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import { servesWebhook } from './app.roles';
import { RetryLaterFilter } from './common/retry-later.filter';
import type { Env } from './config/env.schema';
import { ReadinessState } from './health/readiness.state';

/** Everything main.ts does to the app besides listening; the e2e tests build the app the same way. */
export function configureApp(app: INestApplication, env: Env): void {
  app.useLogger(app.get(Logger));
  app.useGlobalFilters(new RetryLaterFilter());
  // No ETag on webhook answers nor a framework banner: both are work and noise for no client.
  const express = app.getHttpAdapter().getInstance() as { set(setting: string, value: unknown): void };
  express.set('etag', false);
  express.set('x-powered-by', false);
  const readiness = app.get(ReadinessState);
  // Once shutting down, every answer closes its connection so keep-alive clients move elsewhere.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (readiness.shuttingDown) res.setHeader('Connection', 'close');
    next();
  });
  if (servesWebhook(env.APP_ROLE)) setUpSwagger(app);
}

function setUpSwagger(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Dotdigital Omnichannel webhook receiver')
    .setDescription(
      'Receives Dotdigital Omnichannel (formerly Comapi) webhook deliveries, verifies X-Comapi-Signature over the ' +
        'raw body, and answers only once the delivery is durably queued in RabbitMQ. Events are then stored once ' +
        'per eventId in PostgreSQL with per-entity revision ordering.',
    )
    .setVersion('1.0')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
