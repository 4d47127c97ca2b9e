import { MiddlewareConsumer, Module, RequestMethod, type NestModule } from '@nestjs/common';
import { AdminModule } from '../admin/admin.module';
import { DestinationsModule } from '../destinations/destinations.module';
import { EventsModule } from '../events/events.module';
import { ActionsController } from './actions.controller';
import { ConsoleSessionGuard } from './console-auth';
import { ConsoleErrorFilter } from './console-error.filter';
import { ConsoleReads } from './console-reads';
import { DeliveryReads } from './delivery-reads';
import { EntityTrail } from './entity-trail';
import { consoleHeaders, loginLimiter } from './console-security';
import { ConsoleSessions } from './console-sessions';
import { ConsoleViews } from './console-views';
import { DestinationsPageController } from './destinations.controller';
import { LoginController } from './login.controller';
import { OverviewService } from './overview.service';
import { PagesController } from './pages.controller';

/**
 * The operations console at /console: server-rendered pages over the operations API's queries and
 * actions, for people with an admin key. Served with /admin (same roles, same keys); else 404.
 */
@Module({
  // FeedOutbox (the overview's outbox size, the replay plan) comes from EventsModule itself.
  imports: [AdminModule, EventsModule, DestinationsModule],
  controllers: [LoginController, PagesController, ActionsController, DestinationsPageController],
  providers: [
    ConsoleSessions,
    ConsoleViews,
    ConsoleErrorFilter,
    ConsoleSessionGuard,
    OverviewService,
    ConsoleReads,
    DeliveryReads,
    EntityTrail,
  ],
})
export class ConsoleModule implements NestModule {
  constructor(private readonly views: ConsoleViews) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(consoleHeaders).forRoutes('console', 'console/*path');
    consumer
      .apply(
        loginLimiter((_req, res) =>
          this.views.send(
            res,
            'login',
            {
              title: 'Sign in',
              error: 'More than 10 wrong keys in a minute from your address: wait a minute.',
            },
            null,
            429,
          ),
        ),
      )
      .forRoutes({ path: 'console/login', method: RequestMethod.POST });
  }
}
