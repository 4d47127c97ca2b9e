import { BadRequestException, Injectable } from '@nestjs/common';
import { RetryLaterError } from '../common/retry-later.error';
import { summarizeDelivery } from '../envelope/delivery.parser';
import { Lifecycle } from '../lifecycle/lifecycle';
import { BrokerUnavailableError } from '../messaging/broker-unavailable.error';
import { DeliveryPublisher } from '../messaging/delivery.publisher';
import { Metrics } from '../metrics/metrics.service';
import { spaceMismatch, type Signer } from '../signature/space-scope';
import type { ReceivedDelivery } from './received-delivery';
import type { WebhookAck } from './webhook.dto';

/**
 * Takes one verified delivery: counts its items, puts its exact bytes durably in the broker, and only
 * then answers. A malformed body is kept too (the consumer quarantines it) and only then refused.
 * A delivery signed with one API space's secret whose envelopes do not all name that space is kept
 * too, marked for quarantine (this role has no database: the worker writes the row), and answered
 * 200 `{"accepted": 0, "quarantined": <its items>}`: resending it would not change who signed it.
 */
@Injectable()
export class WebhookIntake {
  constructor(
    private readonly publisher: DeliveryPublisher,
    private readonly lifecycle: Lifecycle,
    private readonly metrics: Metrics,
  ) {}

  async receive(delivery: ReceivedDelivery, body: Buffer, signer: Signer): Promise<WebhookAck> {
    if (this.lifecycle.shuttingDown) {
      this.metrics.countDelivery('broker_unavailable');
      throw new RetryLaterError('this instance is shutting down');
    }
    // Only the counts outlive the parse: the envelopes die young instead of being held (and
    // promoted to the old generation) across the broker round trip. The consumer parses again.
    const { problem, itemCount, wellFormed, malformed, apiSpaceIds } = summarizeDelivery(body);
    delivery.itemCount = itemCount;
    // Only a readable body has envelopes to check; a malformed one keeps its 400.
    const quarantineReason = problem === null ? spaceMismatch(signer, apiSpaceIds) : null;
    try {
      await this.publisher.publish({
        deliveryId: delivery.deliveryId,
        receivedAt: delivery.receivedAt,
        itemCount,
        body,
        signedBy: signer.space === null ? { key: signer.key } : { key: signer.key, space: signer.space },
        ...(quarantineReason === null ? {} : { quarantineReason }),
      });
    } catch (err) {
      this.metrics.countDelivery('broker_unavailable');
      throw err instanceof RetryLaterError ? err : new BrokerUnavailableError((err as Error).message);
    }
    if (problem !== null) {
      this.metrics.countDelivery('malformed');
      throw new BadRequestException(`${problem}; the delivery is kept in quarantine`);
    }
    if (quarantineReason !== null) {
      this.metrics.countDelivery('space_mismatch');
      return { accepted: 0, quarantined: itemCount };
    }
    this.metrics.countDelivery('accepted');
    return { accepted: wellFormed, quarantined: malformed };
  }
}
