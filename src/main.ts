// First: the tracing SDK must patch http, express, pg and pino before anything requires them.
import './tracing/tracing.bootstrap';
import 'reflect-metadata';
import { setFlagsFromString } from 'node:v8';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.setup';
import { readEnv, type Env } from './config/env.schema';
import { installGracefulShutdown } from './lifecycle/graceful-shutdown';

async function bootstrap(env: Env, warnings: readonly string[]): Promise<void> {
  const { app, config } = await createApp(env);
  // Found while validating, before a logger existed; they never hold a secret.
  for (const warning of warnings) app.get(Logger).warn(warning, 'Config');
  installGracefulShutdown(app, config.lifecycle);
  await app.listen(config.http.port);
  // The one line that says what started: an operator reads port, role and version here.
  const { role, version } = config.app;
  app
    .get(Logger)
    .log(
      { port: config.http.port, role, version },
      `listening on port ${config.http.port} (role ${role}, version ${version})`,
      'Main',
    );
}

// V8 lets its old generation grow to up to four times what survived a full collection under a high
// allocation rate; twice holds the peak RSS well lower for a few per cent of CPU (docs/performance.md,
// "Memory"). Set by the process so that `node dist/main.js` and `npm start` get it as the image does;
// a --heap-growing-percent given to node wins.
if (!process.execArgv.some((arg) => arg.startsWith('--heap-growing-percent')))
  setFlagsFromString('--heap-growing-percent=100');

let read: { env: Env; warnings: string[] };
try {
  read = readEnv(process.env);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
bootstrap(read.env, read.warnings).catch((err: unknown) => {
  console.error('start-up failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
