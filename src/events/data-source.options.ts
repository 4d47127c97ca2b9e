import type { DataSourceOptions } from 'typeorm';
import { DestinationEvent } from './entities/destination-event.entity';
import { DestinationStateRow } from './entities/destination-state.entity';
import { EntityRevision } from './entities/entity-revision.entity';
import { FeedOutboxEntry } from './entities/feed-outbox.entity';
import { QuarantinedDelivery } from './entities/quarantined-delivery.entity';
import { WebhookEvent } from './entities/webhook-event.entity';
import { InitialSchema1764403200000 } from './migrations/1764403200000-InitialSchema';
import { FeedOutboxAndOperations1764921600000 } from './migrations/1764921600000-FeedOutboxAndOperations';
import { EventTraceparent1765152000000 } from './migrations/1765152000000-EventTraceparent';
import { HttpDestinations1765324800000 } from './migrations/1765324800000-HttpDestinations';

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
      DestinationEvent,
      DestinationStateRow,
    ],
    migrations: [
      InitialSchema1764403200000,
      FeedOutboxAndOperations1764921600000,
      EventTraceparent1765152000000,
      HttpDestinations1765324800000,
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
