/**
 * The least a NestJS + Express app does for POST /webhook: route, read the raw body, answer JSON.
 * No signature, no broker, no logging: what is left is the framework's own cost per request.
 */
import 'reflect-metadata';
import { Controller, HttpCode, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Request } from 'express';
import getRawBody from 'raw-body';

@Controller('webhook')
class MinimalController {
  @Post()
  @HttpCode(200)
  async receive(@Req() req: Request): Promise<{ accepted: number; quarantined: number }> {
    await getRawBody(req);
    return { accepted: 1, quarantined: 0 };
  }
}

@Module({ controllers: [MinimalController] })
class MinimalModule {}

void (async () => {
  const app = await NestFactory.create(MinimalModule, { bodyParser: false, logger: false });
  app.getHttpAdapter().get('/ready', (_req: unknown, res: { end: (body: string) => void }) => res.end('ok'));
  await app.listen(Number(process.env.PORT));
})();
