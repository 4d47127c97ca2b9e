import { BadRequestException, Injectable } from '@nestjs/common';
import { RetryLaterError } from '../common/retry-later.error';
import { parseDelivery, type ParsedDelivery } from '../envelope/delivery.parser';
import { ReadinessState } from '../health/readiness.state';
import { DeliveryPublisher } from '../messaging/delivery.publisher';
import { BrokerUnavailableError } from '../messaging/broker-unavailable.error';
import { Metrics } from '../metrics/metrics.service';
import type { IncomingDelivery } from './incoming-delivery';
import type { WebhookAck } from './webhook.dto';

/**
 * Takes one verified delivery: counts its items, puts its exact bytes durably in the broker, and only
 * then answers. A malformed body is kept too (the consumer quarantines it) and only then refused.
 */
@Injectable()
export class WebhookIntake {
  constructor(
    private readonly publisher: DeliveryPublisher,
    private readonly readiness: ReadinessState,
    private readonly metrics: Metrics,
  ) {}

  async receive(delivery: IncomingDelivery): Promise<WebhookAck> {
    if (this.readiness.shuttingDown) {
      this.metrics.countDelivery('broker_unavailable');
      throw new RetryLaterError('this instance is shutting down');
    }
    // Only the verdict outlives the parse: the envelopes die young instead of being held (and
    // promoted to the old generation) across the broker round trip. The consumer parses again.
    const { problem, itemCount, accepted, quarantined } = summarize(parseDelivery(delivery.body));
    delivery.itemCount = itemCount;
    try {
      await this.publisher.publish({ ...delivery, itemCount });
    } catch (err) {
      this.metrics.countDelivery('broker_unavailable');
      throw err instanceof RetryLaterError ? err : new BrokerUnavailableError((err as Error).message);
    }
    if (problem !== null) {
      this.metrics.countDelivery('malformed');
      throw new BadRequestException(`${problem}; the delivery is kept in quarantine`);
    }
    this.metrics.countDelivery('accepted');
    return { accepted, quarantined };
  }
}

function summarize(parsed: ParsedDelivery) {
  return {
    problem: parsed.problem,
    itemCount: parsed.itemCount,
    accepted: parsed.envelopes.length,
    quarantined: parsed.malformed.length,
  };
}
