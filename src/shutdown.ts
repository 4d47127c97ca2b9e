import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { Logger } from 'nestjs-pino';
import type { Env } from './config/env.schema';
import { ReadinessState } from './health/readiness.state';

/**
 * SIGTERM/SIGINT (DESIGN §6): /health/ready turns 503 and new deliveries get 503 at once; app.close()
 * then stops the consumer (which finishes the batch in hand), closes the HTTP server after in-flight
 * requests, and closes the broker and database connections. Exit 0, or 1 past SHUTDOWN_TIMEOUT_MS.
 */
export function installGracefulShutdown(app: INestApplication, env: Env): void {
  const logger = app.get(Logger);
  let started = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    logger.log(`${signal} received: shutting down`);
    app.get(ReadinessState).beginShutdown();
    const server = app.getHttpServer() as Server;
    const idleSweep = setInterval(() => server.closeIdleConnections?.(), 100);
    const hardStop = setTimeout(() => {
      logger.error(`shutdown took longer than ${env.SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS + 5000);
    hardStop.unref();
    app
      .close()
      .then(() => {
        clearInterval(idleSweep);
        logger.log('shut down cleanly');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
