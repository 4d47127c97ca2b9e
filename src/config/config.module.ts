import { DynamicModule, Global, Inject, Module } from '@nestjs/common';
import type { Env } from './env.schema';

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Injects the validated environment (see env.schema.ts). */
export const InjectConfig = (): ParameterDecorator => Inject(APP_CONFIG);

/**
 * The environment is validated once, before Nest starts, because the role (APP_ROLE) decides which
 * modules exist at all; this module only hands the validated, typed object to the rest of the app.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: env }],
      exports: [APP_CONFIG],
    };
  }
}
