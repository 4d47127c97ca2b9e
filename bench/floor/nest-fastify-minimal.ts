/** The same empty route as nest-minimal.ts on NestJS's Fastify adapter (raw body read as a Buffer). */
import 'reflect-metadata';
import { Controller, HttpCode, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

@Controller('webhook')
class MinimalController {
  @Post()
  @HttpCode(200)
  receive(@Req() req: { body: unknown }): { accepted: number; quarantined: number } {
    void req.body;
    return { accepted: 1, quarantined: 0 };
  }
}

@Module({ controllers: [MinimalController] })
class MinimalModule {}

void (async () => {
  const app = await NestFactory.create<NestFastifyApplication>(MinimalModule, new FastifyAdapter(), {
    logger: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  fastify.get('/ready', (_req, reply) => reply.send('ok'));
  await app.listen(Number(process.env.PORT), '127.0.0.1');
})();
