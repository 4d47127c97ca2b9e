import type { BatchOutcome, DeliveryToStore, EventStore } from '../events/event.store';
import type { FeedSignal } from '../events/feed.signal';
import type { DeliveryMessage } from '../messaging/delivery-message';
import { Metrics } from '../metrics/metrics.service';
import { EventProcessor } from './event.processor';
import { StorageMetrics } from './storage.metrics';

const outcome = (): BatchOutcome => ({
  applied: 1,
  stale: 0,
  untracked: 0,
  duplicate: 0,
  conflicts: [],
  quarantined: [],
  stored: [],
});

const message = (deliveryId: string): DeliveryMessage => ({
  deliveryId,
  receivedAt: new Date(),
  itemCount: 1,
  body: Buffer.from(JSON.stringify({ eventId: `e-${deliveryId}`, name: 'message.sent' })),
});

const transient = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const lasting = (why = 'invalid input syntax') => Object.assign(new Error(why), { code: '22P02' });

/** A store whose answers the test scripts: each call is recorded as `whole:[ids]`, or `split:id`. */
class FakeStore {
  calls: string[] = [];
  constructor(private readonly answer: (call: string) => Error | null) {}

  storeBatch(deliveries: readonly DeliveryToStore[]): Promise<BatchOutcome> {
    return this.respond(`whole:${deliveries.map((d) => d.deliveryId).join(',')}`);
  }

  storeEventByEvent(delivery: DeliveryToStore): Promise<BatchOutcome> {
    return this.respond(`split:${delivery.deliveryId}`);
  }

  private respond(call: string): Promise<BatchOutcome> {
    this.calls.push(call);
    const error = this.answer(call);
    return error ? Promise.reject(error) : Promise.resolve(outcome());
  }
}

function processorWith(store: FakeStore, maxAttempts = 2): EventProcessor {
  const feed = { notify: jest.fn() } as unknown as FeedSignal;
  return new EventProcessor(
    store as unknown as EventStore,
    new StorageMetrics(new Metrics()),
    { prefetch: 1, prefetchBytes: 1024 * 1024, batchSize: 10, maxAttempts, yieldMs: 0 },
    feed,
  );
}

describe(EventProcessor.name, () => {
  it('stores a batch in one call when it can', async () => {
    const store = new FakeStore(() => null);
    const verdicts = await processorWith(store).process(
      [message('a'), message('b')],
      new AbortController().signal,
    );
    expect(verdicts).toEqual([{ stored: true }, { stored: true }]);
    expect(store.calls).toEqual(['whole:a,b']);
  });

  it('holds the batch through transient failures for as long as they last, never giving up', async () => {
    let failures = 3;
    const store = new FakeStore(() => (failures-- > 0 ? transient() : null));
    const verdicts = await processorWith(store, 1).process([message('a')], new AbortController().signal);
    expect(verdicts).toEqual([{ stored: true }]);
    expect(store.calls).toEqual(['whole:a', 'whole:a', 'whole:a', 'whole:a']);
  }, 10000);

  it('splits a batch that fails for a lasting reason: each delivery alone, then event by event', async () => {
    const store = new FakeStore((call) =>
      call.startsWith('whole:') && call.includes('b') ? lasting() : null,
    );
    const verdicts = await processorWith(store).process(
      [message('a'), message('b'), message('c')],
      new AbortController().signal,
    );
    expect(verdicts).toEqual([{ stored: true }, { stored: true }, { stored: true }]);
    expect(store.calls).toEqual(['whole:a,b,c', 'whole:a', 'whole:b', 'split:b', 'whole:c']);
  });

  it('reports a delivery not stored, with the reason, only when even event by event fails maxAttempts times', async () => {
    const store = new FakeStore((call) => (call === 'whole:a' ? null : lasting('quarantine refused')));
    const verdicts = await processorWith(store, 2).process(
      [message('a'), message('b')],
      new AbortController().signal,
    );
    expect(verdicts).toEqual([{ stored: true }, { stored: false, reason: 'quarantine refused' }]);
    expect(store.calls.filter((call) => call === 'split:b')).toHaveLength(2);
  });

  it('goes straight to event by event for a single delivery', async () => {
    const store = new FakeStore((call) => (call.startsWith('whole:') ? lasting() : null));
    await processorWith(store).process([message('a')], new AbortController().signal);
    expect(store.calls).toEqual(['whole:a', 'split:a']);
  });

  it('rejects when shutting down during an outage, so the caller returns the batch', async () => {
    const store = new FakeStore(() => transient());
    const controller = new AbortController();
    const processing = processorWith(store).process([message('a')], controller.signal);
    setTimeout(() => controller.abort(new Error('shutdown timeout')), 50);
    await expect(processing).rejects.toThrow();
  });
});
