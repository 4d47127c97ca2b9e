import { PayloadTooLargeException } from '@nestjs/common';
import type { Request } from 'express';
import getRawBody from 'raw-body';
import { reasonSchema } from '../admin/http/action-reason';
import { badParameter } from '../admin/http/query-params';

const LIMIT = 16 * 1024;

/**
 * A console form's fields (application/x-www-form-urlencoded). The application has no global body
 * parser, so forms are read here, once per request, after the session was checked.
 */
export async function readForm(req: Request & { consoleForm?: URLSearchParams }): Promise<URLSearchParams> {
  if (req.consoleForm) return req.consoleForm;
  try {
    const text = await getRawBody(req, {
      limit: LIMIT,
      length: req.headers['content-length'],
      encoding: 'utf8',
    });
    req.consoleForm = new URLSearchParams(text);
    return req.consoleForm;
  } catch (err) {
    if ((err as { status?: number }).status === 413)
      throw new PayloadTooLargeException(`form is larger than ${LIMIT} bytes`);
    throw badParameter('form', `could not be read: ${(err as Error).message}`);
  }
}

/** The `reason` field of an action's form (400 naming `reason` without one). */
export function formReason(form: URLSearchParams): string {
  const parsed = reasonSchema.safeParse(form.get('reason') ?? undefined);
  if (!parsed.success) throw badParameter('reason', parsed.error.issues[0]?.message ?? 'is not valid');
  return parsed.data;
}
