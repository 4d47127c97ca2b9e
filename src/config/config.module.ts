import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import {
  AdminConfig,
  AppConfig,
  BrokerConfig,
  ConsumerConfig,
  DatabaseConfig,
  DestinationsConfig,
  FeedConfig,
  HttpConfig,
  LifecycleConfig,
  LogConfig,
  RetentionConfig,
  SignatureConfig,
  type ConfigSlices,
} from './config.slices';

/**
 * Provides the configuration slices (config.slices.ts). The environment is validated once, before
 * Nest starts, because the role (APP_ROLE) decides which modules exist at all.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(slices: ConfigSlices): DynamicModule {
    const providers: Provider[] = [
      { provide: AppConfig, useValue: slices.app },
      { provide: HttpConfig, useValue: slices.http },
      { provide: BrokerConfig, useValue: slices.broker },
      { provide: DatabaseConfig, useValue: slices.database },
      { provide: ConsumerConfig, useValue: slices.consumer },
      { provide: FeedConfig, useValue: slices.feed },
      { provide: DestinationsConfig, useValue: slices.destinations },
      { provide: SignatureConfig, useValue: slices.signature },
      { provide: AdminConfig, useValue: slices.admin },
      { provide: RetentionConfig, useValue: slices.retention },
      { provide: LifecycleConfig, useValue: slices.lifecycle },
      { provide: LogConfig, useValue: slices.log },
    ];
    return { module: ConfigModule, providers, exports: providers };
  }
}
