import { BadRequestException, PipeTransform, Query, applyDecorators } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { z } from 'zod';
import { timestampOf } from '../../envelope/envelope';

/**
 * One query parameter: how it is validated (zod) and how /docs-json describes it (the same bounds as
 * an OpenAPI schema), built together by the kinds below so the two cannot say different things.
 */
export interface QueryParam<T extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: T;
  openapi: SchemaObject;
  description: string;
  example?: string | number;
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
/** The same rule for /docs-json. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

export const text = (max = 512) =>
  z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`).refine(noNul, NO_NUL);

/** Like text(), empty allowed. */
export const optionalText = (max = 512) =>
  z.string().max(max, `must be at most ${max} characters`).refine(noNul, NO_NUL);

function wholeNumber(max?: number) {
  const why =
    max === undefined ? 'must be a positive whole number' : `must be a whole number from 1 to ${max}`;
  const number = z.coerce.number({ invalid_type_error: why }).int(why).min(1, why);
  return {
    number: max === undefined ? number : number.max(max, why),
    openapi: {
      type: 'integer',
      minimum: 1,
      ...(max === undefined ? {} : { maximum: max }),
    } satisfies SchemaObject,
  };
}

/** The kinds of parameter: each an optional zod schema and its OpenAPI twin. */
export const param = {
  /** Non-empty text, at most `max` characters, no NUL. */
  text: (max = 512) => ({
    schema: text(max).optional(),
    openapi: { type: 'string', minLength: 1, maxLength: max, pattern: NO_NUL_PATTERN } satisfies SchemaObject,
  }),
  /** Text that may be empty, at most `max` characters, no NUL. */
  textOrEmpty: (max = 512) => ({
    schema: optionalText(max).optional(),
    openapi: { type: 'string', maxLength: max, pattern: NO_NUL_PATTERN } satisfies SchemaObject,
  }),
  /** An ISO 8601 instant. */
  instant: () => ({
    schema: isoInstant.optional(),
    openapi: { type: 'string', format: 'date-time' } satisfies SchemaObject,
  }),
  /** One of `values`, exactly. */
  oneOf: <V extends readonly [string, ...string[]]>(values: V) => ({
    schema: z
      .enum(values, { message: `must be ${values.slice(0, -1).join(', ')} or ${values.at(-1)}` })
      .optional(),
    openapi: { type: 'string', enum: [...values] } satisfies SchemaObject,
  }),
  /** A whole number from 1 (to `max` when given). */
  count: (max?: number) => {
    const { number, openapi } = wholeNumber(max);
    return { schema: number.optional(), openapi };
  },
  /** The same, `fallback` when not given. */
  countOr: (fallback: number, max?: number) => {
    const { number, openapi } = wholeNumber(max);
    return { schema: number.default(fallback), openapi: { ...openapi, default: fallback } };
  },
};

/** The parameters of every list: `limit` (1–500, default 50) and the `cursor` of the previous page. */
export const PAGE_PARAMS = {
  limit: {
    ...param.countOr(50, 500),
    description: 'Items per page, 1 to 500 (default 50).',
    example: 50,
  },
  cursor: {
    // An empty cursor is no cursor this service issued (400), like any other it did not.
    schema: z.string().optional(),
    openapi: { type: 'string', minLength: 1 },
    description: 'The nextCursor of the previous page, as it was given.',
  },
} satisfies QueryParams;

export class QueryPipe<P extends QueryParams> implements PipeTransform<
  Record<string, unknown>,
  ParsedQuery<P>
> {
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
        schema: param.openapi,
        example: param.example,
        // The service reads `since=2026-11-20T09:00:00Z` as sent: reserved characters need no escaping.
        allowReserved: true,
      }),
    ),
  );
}
