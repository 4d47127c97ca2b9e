import { BadRequestException, PipeTransform, Query, applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';
import { timestampOf } from '../../envelope/envelope';

/** One query parameter: how it is validated and how it is documented, in one place. */
export interface QueryParam<T extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: T;
  description: string;
  type: 'string' | 'integer';
  example?: string | number;
  enum?: readonly string[];
}

export type QueryParams = Record<string, QueryParam>;
export type ParsedQuery<P extends QueryParams> = { [K in keyof P]: z.output<P[K]['schema']> };

/** An ISO 8601 instant, strictly (the same reading as event timestamps). */
export const isoInstant = z.string().transform((value, ctx) => {
  const timestamp = timestampOf(value);
  if (timestamp) return timestamp.time;
  ctx.addIssue({
    code: z.ZodIssueCode.custom,
    message: 'must be an ISO 8601 date-time, e.g. 2026-11-20T09:00:00Z',
  });
  return z.NEVER;
});

/** PostgreSQL text cannot hold NUL: no stored value has one, and a query with one would fail (500). */
export const noNul = (value: string): boolean => !value.includes('\u0000');
const NO_NUL = 'must not contain a NUL character';

export const text = (max = 512) =>
  z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).refine(noNul, NO_NUL);

/** Like text(), empty allowed. */
export const optionalText = (max = 512) =>
  z.string().max(max, `must be at most ${max} characters`).refine(noNul, NO_NUL);

/** The parameters of every list: `limit` (1–500, default 50) and the `cursor` of the previous page. */
export const PAGE_PARAMS = {
  limit: {
    schema: z.coerce
      .number({ invalid_type_error: 'must be a whole number from 1 to 500' })
      .int('must be a whole number from 1 to 500')
      .min(1, 'must be a whole number from 1 to 500')
      .max(500, 'must be a whole number from 1 to 500')
      .default(50),
    description: 'Items per page, 1 to 500 (default 50).',
    type: 'integer',
    example: 50,
  },
  cursor: {
    schema: z.string().optional(),
    description: 'The nextCursor of the previous page, as it was given.',
    type: 'string',
  },
} satisfies QueryParams;

class QueryPipe<P extends QueryParams> implements PipeTransform<Record<string, unknown>, ParsedQuery<P>> {
  constructor(private readonly params: P) {}

  transform(query: Record<string, unknown>): ParsedQuery<P> {
    const parsed: Record<string, unknown> = {};
    for (const [name, param] of Object.entries(this.params)) {
      const value = query[name];
      if (Array.isArray(value)) throw badParameter(name, 'must be given once');
      const result = param.schema.safeParse(value);
      if (!result.success) throw badParameter(name, result.error.issues[0]?.message ?? 'is not valid');
      parsed[name] = result.data;
    }
    return parsed as ParsedQuery<P>;
  }
}

/** 400 naming the parameter: `{statusCode, error, message: "<name>: <why>", parameter}`. */
export function badParameter(name: string, why: string): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: `${name}: ${why}`,
    parameter: name,
  });
}

/** A time window must be one: `until` later than `since` (400 naming `until`), as replay requires. */
export function checkWindow({ since, until }: { since?: Date; until?: Date }): void {
  if (since && until && until <= since) throw badParameter('until', 'must be later than since');
}

/** The handler's validated, typed query (400 naming the first bad parameter). */
export const ValidQuery = <P extends QueryParams>(params: P): ParameterDecorator =>
  Query(new QueryPipe(params));

/** Swagger entries of the same parameters. */
export function DocumentQuery(params: QueryParams): MethodDecorator {
  return applyDecorators(
    ...Object.entries(params).map(([name, param]) =>
      ApiQuery({
        name,
        required: !param.schema.isOptional() && !(param.schema instanceof z.ZodDefault),
        description: param.description,
        type: param.type === 'integer' ? Number : String,
        enum: param.enum ? [...param.enum] : undefined,
        example: param.example,
      }),
    ),
  );
}
