import { PipeTransform, Query } from '@nestjs/common';
import { QueryPipe, type QueryParams } from '../admin/http/query-params';

/** A GET form sends its empty fields as `name=`: empty means "not given", not an empty filter. */
class DropEmpty implements PipeTransform<Record<string, unknown>, Record<string, unknown>> {
  transform(query: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ''));
  }
}

/** The handler's validated query, as ValidQuery, with a form's empty fields left out. */
export const ConsoleQuery = <P extends QueryParams>(params: P): ParameterDecorator =>
  Query(new DropEmpty(), new QueryPipe(params));
