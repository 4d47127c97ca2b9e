import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Observable, map } from 'rxjs';

/**
 * JSON text to be sent as it is: a stored payload read as text from jsonb, so numbers beyond what
 * JavaScript holds exactly (an accountId of 9007199254740993) keep every digit in the answer.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Serialises a handler's answer, writing every RawJson's text verbatim in its place. */
export function stringifyWithRawJson(value: unknown): string {
  const raw: string[] = [];
  const marker = `\u0000raw-${randomBytes(6).toString('hex')}-`;
  const text = JSON.stringify(value, (_key, inner: unknown) => {
    if (!(inner instanceof RawJson)) return inner;
    raw.push(inner.text);
    return `${marker}${raw.length - 1}`;
  });
  if (raw.length === 0) return text;
  // The marker starts with NUL, which JSON.stringify always escapes elsewhere: only ours match.
  const placeholder = new RegExp(
    `"${JSON.stringify(marker).slice(1, -1).replace(/\\/g, '\\\\')}(\\d+)"`,
    'g',
  );
  return text.replace(placeholder, (_match, index: string) => raw[Number(index)]);
}

/** Sends the answer as JSON text built by stringifyWithRawJson. */
@Injectable()
export class RawJsonInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<{ type(type: string): void }>();
    return next.handle().pipe(
      map((body: unknown) => {
        response.type('application/json');
        return stringifyWithRawJson(body);
      }),
    );
  }
}
