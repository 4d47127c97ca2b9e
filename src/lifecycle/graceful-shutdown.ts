import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import { Logger } from 'nestjs-pino';
import type { LifecycleConfig } from '../config/config.slices';
import { flushTracing } from '../tracing/tracing.state';
import { Lifecycle } from './lifecycle';

/**
 * SIGTERM/SIGINT: /health/ready turns 503 and new deliveries get 503 at once; app.close()
 * then stops the consumer (which finishes the batch in hand; HTTP still answers meanwhile), closes the
 * HTTP server after in-flight requests (new connections are refused), and closes the broker and
 * database connections. SHUTDOWN_TIMEOUT_MS bounds the whole: past it the consumer gives its unfinished
 * batch back to the queue (redelivery, never loss) and open HTTP connections are cut; exit 0. Exit 1
 * only when closing still hangs 5 s later.
 */
export function installGracefulShutdown(app: INestApplication, config: LifecycleConfig): void {
  const logger = app.get(Logger);
  let started = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (started) return logger.log(`${signal} received again: still shutting down`);
    started = true;
    logger.log(`${signal} received: shutting down`);
    app.get(Lifecycle).beginShutdown();
    const server = app.getHttpServer() as Server;
    // Keep-alive: a request that starts from now on is answered with `Connection: close`
    // (app.setup.ts); one already in flight keeps its connection open after its answer, so the idle
    // timeout of such connections drops from 5 s to 100 ms, else they would hold server.close() (and
    // the exit) for up to 5 s. Not a periodic closeIdleConnections(): that would also reset connections
    // accepted but not yet read, which now get a clean 503. server.close() closes the idle ones.
    server.keepAliveTimeout = 100;
    // A client still sending its body when the budget is spent (a stalled or very slow upload) must not
    // keep the process alive: its connection is cut, it never got an answer, so Dotdigital retries it.
    const cutConnections = setTimeout(() => {
      logger.warn(`connections still open after ${config.shutdownTimeoutMs} ms; closing them`);
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    cutConnections.unref();
    const hardStop = setTimeout(() => {
      logger.error(`shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting`);
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    hardStop.unref();
    app
      .close()
      .then(async () => {
        clearTimeout(cutConnections);
        logger.log('shut down cleanly');
        // The last batch's spans are still buffered: exported before the exit, or dropped after 2 s.
        await flushTracing();
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error(`shutdown failed: ${(err as Error).message}`);
        process.exit(1);
      });
  };
  // `on`, not `once`: a second signal (npm forwarding one while a process-group kill sends another,
  // as systemd does) must not fall back to Node's default and kill the drain half-way.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // SIGHUP reloads WEBHOOK_SPACES_FILE where there is one; anywhere else it must not do what
  // Node does by default (exit), or a reload sent to every process would stop the workers.
  process.on('SIGHUP', () => logger.log('SIGHUP received'));
}
