import { PayloadTooLargeException } from '@nestjs/common';
import type { Request } from 'express';
import getRawBody from 'raw-body';
import { badParameter } from './query-params';

const LIMIT = 64 * 1024;

/**
 * The JSON body of an operations route. The application has no global body parser (POST /webhook
 * reads its raw bytes itself), so the admin routes that take a body read theirs here, from the
 * handler: after the bearer key was checked, so a request without a valid key reads nothing (401).
 * An empty body is `{}`.
 */
export async function readJsonBody(req: Request): Promise<unknown> {
  let text: string;
  try {
    text = (
      await getRawBody(req, { limit: LIMIT, length: req.headers['content-length'], encoding: 'utf8' })
    ).trim();
  } catch (err) {
    if ((err as { status?: number }).status === 413)
      throw new PayloadTooLargeException(`body is larger than ${LIMIT} bytes`);
    throw badParameter('body', `could not be read: ${(err as Error).message}`);
  }
  try {
    return text === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw badParameter('body', 'not valid JSON');
  }
}
