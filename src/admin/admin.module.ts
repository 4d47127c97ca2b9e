import { Module } from '@nestjs/common';
import { DestinationsModule } from '../destinations/destinations.module';
import { EventsModule } from '../events/events.module';
import { AdminActions } from './actions/admin-actions';
import { AdminAudit } from './audit/admin-audit';
import { AuditController } from './audit/audit.controller';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DestinationsController } from './destinations/destinations.controller';
import { EventQueries } from './events/event.queries';
import { EventsController } from './events/events.controller';
import { AdminCursors } from './http/admin-cursors';
import { AdminKeyGuard } from './http/admin-key.guard';
import { AdminRequestLog } from './http/admin-request.interceptor';
import { QuarantineController } from './quarantine/quarantine.controller';
import { QuarantineService } from './quarantine/quarantine.service';

/**
 * The operations API under /admin: find events, tell an entity's story, bring back what failed.
 * Present only in the roles with PostgreSQL and only when ADMIN_API_KEYS or ADMIN_READ_KEYS is set
 * (app.module.ts); otherwise /admin/* is 404.
 */
@Module({
  imports: [EventsModule, DestinationsModule],
  controllers: [
    EventsController,
    QuarantineController,
    DeadLettersController,
    AuditController,
    DestinationsController,
  ],
  providers: [
    EventQueries,
    QuarantineService,
    AdminCursors,
    AdminKeyGuard,
    AdminRequestLog,
    AdminAudit,
    AdminActions,
  ],
  exports: [EventQueries, QuarantineService, AdminCursors, AdminAudit, AdminActions],
})
export class AdminModule {}
