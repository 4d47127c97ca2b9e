import { BadRequestException, Injectable, NestMiddleware, PayloadTooLargeException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';

const LIMIT = 64 * 1024;

/**
 * JSON bodies of the operations routes. The application has no global body parser (POST /webhook
 * reads its raw bytes itself), so the few admin routes that take a body read theirs here.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  async use(req: Request, _res: Response, next: NextFunction): Promise<void> {
    let text: string;
    try {
      text = (
        await getRawBody(req, { limit: LIMIT, length: req.headers['content-length'], encoding: 'utf8' })
      ).trim();
    } catch (err) {
      if ((err as { status?: number }).status === 413)
        throw new PayloadTooLargeException(`body is larger than ${LIMIT} bytes`);
      throw new BadRequestException(`could not read the body: ${(err as Error).message}`);
    }
    try {
      (req as { body?: unknown }).body = text === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
      throw new BadRequestException('body: not valid JSON');
    }
    next();
  }
}
