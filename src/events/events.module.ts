import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { Env } from '../config/env.schema';
import { dataSourceOptions } from './data-source.options';
import { DatabaseService } from './database.service';
import { EventStore } from './event.store';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      // Connected by DatabaseService in the background, so the process starts without PostgreSQL.
      useFactory: (config: Env) => ({
        ...dataSourceOptions(config.DATABASE_URL),
        manualInitialization: true,
      }),
    }),
  ],
  providers: [DatabaseService, EventStore],
  exports: [DatabaseService, EventStore],
})
export class EventsModule {}
