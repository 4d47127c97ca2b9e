import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseConfig } from '../config/config.slices';
import { dataSourceOptions } from './data-source.options';
import { DatabaseService } from './database.service';

/** The PostgreSQL connection pool, its migrations at start-up, and its health probe. */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [DatabaseConfig],
      // Connected by DatabaseService in the background, so the process starts without PostgreSQL.
      useFactory: (config: DatabaseConfig) => ({
        ...dataSourceOptions(config.url),
        manualInitialization: true,
      }),
    }),
  ],
  providers: [DatabaseService],
  exports: [DatabaseService],
})
export class DatabaseModule {}
