import { Controller, UseFilters, UseGuards, applyDecorators } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SchemaReadyGuard } from '../database/schema-ready.guard';
import { ConsoleSessionGuard } from './console-auth';
import { ConsoleErrorFilter } from './console-error.filter';

/** A controller of signed-in console pages: session (and CSRF on POST) first, failures as pages. */
export function ConsoleController(path = ''): ClassDecorator {
  return applyDecorators(
    Controller(path ? `console/${path}` : 'console'),
    UseGuards(SchemaReadyGuard, ConsoleSessionGuard),
    UseFilters(ConsoleErrorFilter),
    ApiExcludeController(),
  );
}
