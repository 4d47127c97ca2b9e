import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { validateEnv, type Env } from './config/env.schema';
import { installGracefulShutdown } from './shutdown';

async function bootstrap(env: Env): Promise<void> {
  // No global body parser: POST /webhook reads raw bytes itself (the signature covers them).
  const app = await NestFactory.create(AppModule.forRoot(env), { bodyParser: false, bufferLogs: true });
  configureApp(app, env);
  installGracefulShutdown(app, env);
  await app.listen(env.PORT);
}

let env: Env;
try {
  env = validateEnv(process.env);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
bootstrap(env).catch((err: unknown) => {
  console.error('start-up failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
