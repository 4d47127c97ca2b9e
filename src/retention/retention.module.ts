import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { RetentionJob } from './retention.job';
import { DEFAULT_RETENTION_OPTIONS, RETENTION_OPTIONS } from './retention.options';

/** Retention (RETENTION_DAYS) of the roles that store events (composed by app.module.ts). */
@Module({
  imports: [DatabaseModule],
  providers: [RetentionJob, { provide: RETENTION_OPTIONS, useValue: DEFAULT_RETENTION_OPTIONS }],
})
export class RetentionModule {}
