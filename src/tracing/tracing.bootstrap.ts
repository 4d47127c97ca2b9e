import { tracingState, tracingWanted } from './tracing.state';

/*
 * Imported first by main.ts: instrumentations patch http, express, pg and pino only when they are
 * required after the SDK started. The SDK (and its exporters) is required lazily, so a process
 * without an endpoint loads none of it.
 */
if (tracingWanted(process.env)) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTracing } = require('./tracing.sdk') as typeof import('./tracing.sdk');
  tracingState.shutdown = startTracing();
  tracingState.enabled = true;
}
