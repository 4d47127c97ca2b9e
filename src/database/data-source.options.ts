import type { DataSourceOptions } from 'typeorm';
import { AdminAuditEntry } from '../events/entities/admin-audit.entity';
import { ConsoleSession } from '../events/entities/console-session.entity';
import { DestinationEvent } from '../events/entities/destination-event.entity';
import { DestinationStateRow } from '../events/entities/destination-state.entity';
import { EntityRevision } from '../events/entities/entity-revision.entity';
import { FeedOutboxEntry } from '../events/entities/feed-outbox.entity';
import { QuarantinedDelivery } from '../events/entities/quarantined-delivery.entity';
import { WebhookDelivery } from '../events/entities/webhook-delivery.entity';
import { WebhookEvent } from '../events/entities/webhook-event.entity';
import { InitialSchema1764403200000 } from '../events/migrations/1764403200000-InitialSchema';
import { FeedOutboxAndOperations1764921600000 } from '../events/migrations/1764921600000-FeedOutboxAndOperations';
import { AuditAndConsoleSessions1765065600000 } from '../events/migrations/1765065600000-AuditAndConsoleSessions';
import { EventTraceparent1765152000000 } from '../events/migrations/1765152000000-EventTraceparent';
import { WebhookDeliveries1765238400000 } from '../events/migrations/1765238400000-WebhookDeliveries';
import { QuarantineResolution1765324800000 } from '../events/migrations/1765324800000-QuarantineResolution';
import { HttpDestinations1765411200000 } from '../events/migrations/1765411200000-HttpDestinations';
import { RareValueIndexes1765497600000 } from '../events/migrations/1765497600000-RareValueIndexes';

export const MIGRATIONS_TABLE = 'schema_migrations';

const IDLE_IN_TRANSACTION = '30s';

/** The one place the database connection is described; migrations are listed, never `synchronize`. */
export function dataSourceOptions(databaseUrl: string): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: [
      WebhookEvent,
      EntityRevision,
      QuarantinedDelivery,
      FeedOutboxEntry,
      AdminAuditEntry,
      ConsoleSession,
      WebhookDelivery,
      DestinationEvent,
      DestinationStateRow,
    ],
    migrations: [
      InitialSchema1764403200000,
      FeedOutboxAndOperations1764921600000,
      AuditAndConsoleSessions1765065600000,
      EventTraceparent1765152000000,
      WebhookDeliveries1765238400000,
      QuarantineResolution1765324800000,
      HttpDestinations1765411200000,
      RareValueIndexes1765497600000,
    ],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: 8,
      connectionTimeoutMillis: 5000,
      application_name: 'omnichannel-webhook-receiver',
      // PostgreSQL ends a session left this long inside a transaction without a statement: the
      // server's half of a connection that died without a FIN or an RST would otherwise keep its
      // transaction, and its entity locks, until the server's TCP keepalive notices (about two hours).
      options: `-c idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION}`,
    },
  };
}
