import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { RetentionJob } from './retention.job';
import { DEFAULT_RETENTION_OPTIONS, RETENTION_OPTIONS } from './retention.options';

/** Retention (RETENTION_DAYS) of the roles that store events (imported by ConsumerModule). */
@Module({
  imports: [EventsModule],
  providers: [RetentionJob, { provide: RETENTION_OPTIONS, useValue: DEFAULT_RETENTION_OPTIONS }],
})
export class RetentionModule {}
