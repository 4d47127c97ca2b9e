import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { node, tracing } from '@opentelemetry/sdk-node';
import {
  noteStored,
  traceDeliveryPublish,
  traceDestinationRequest,
  traceFeedRound,
  traceStoreBatch,
  type PublishProperties,
} from './tracing.spans';
import { tracingState } from './tracing.state';

const target = { exchange: 'x.deliveries', routingKey: 'delivery' };
const stored = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const storedTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('span hooks with tracing off', () => {
  it('publish a delivery without a header or a span', async () => {
    const properties: PublishProperties = { headers: { 'x-delivery-id': 'd1' } };
    const publish = jest.fn(() => Promise.resolve());
    await traceDeliveryPublish(target, { deliveryId: 'd1', itemCount: 1 }, properties, publish);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(properties.headers).toEqual({ 'x-delivery-id': 'd1' });
  });

  it('publish a round of feed messages without a span, their headers (and the traceparent they carry) as they are', async () => {
    const properties: PublishProperties = { headers: { traceparent: stored } };
    const publish = jest.fn(() => Promise.resolve());
    const event = { eventId: 'e1', deliveryId: 'd1', traceparent: stored };
    await traceFeedRound([{ ...target, event, replay: false, properties }], publish);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(properties.headers).toEqual({ traceparent: stored });
  });

  it('pass a stored traceparent on to a destination request unchanged', async () => {
    const headers: Record<string, string> = {};
    const destination = {
      destination: 'crm',
      url: 'https://crm.example/in',
      eventId: 'e1',
      traceparent: stored,
    };
    expect(await traceDestinationRequest(destination, headers, () => Promise.resolve(204))).toBe(204);
    expect(headers).toEqual({ traceparent: stored });
  });
});

describe('span hooks with tracing on', () => {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new node.NodeTracerProvider({
    spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
  });

  beforeAll(() => {
    provider.register();
    tracingState.enabled = true;
  });

  afterAll(async () => {
    tracingState.enabled = false;
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  beforeEach(() => exporter.reset());

  const spans = () => exporter.getFinishedSpans();

  it('injects the publish span into the delivery headers, below the active span', async () => {
    const request = trace.getTracer('test').startSpan('POST /webhook');
    const properties: PublishProperties = {};
    await context.with(trace.setSpan(context.active(), request), () =>
      traceDeliveryPublish(target, { deliveryId: 'd1', itemCount: 3 }, properties, () => Promise.resolve()),
    );
    request.end();
    const publish = spans().find((span) => span.name === 'publish x.deliveries')!;
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(properties.headers?.traceparent).toBe(
      `00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`,
    );
    expect(publish.attributes).toMatchObject({ 'webhook.delivery_id': 'd1', 'webhook.item_count': 3 });
  });

  it('ends a failed publish with status ERROR and the reason, and still rejects', async () => {
    await expect(
      traceDeliveryPublish(target, { deliveryId: 'd2', itemCount: 1 }, {}, () =>
        Promise.reject(new Error('not connected to the message broker')),
      ),
    ).rejects.toThrow('not connected');
    expect(spans()[0].status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'not connected to the message broker',
    });
  });

  it('stores a batch in a trace of its own linked to each delivery, and marks quarantine in both', async () => {
    const batch = [{ deliveryId: 'd1', traceparent: stored }, { deliveryId: 'd2' }];
    const verdicts = await traceStoreBatch(batch, () => {
      noteStored(
        {
          applied: 1,
          stale: 0,
          untracked: 0,
          duplicate: 0,
          quarantined: [{ deliveryId: 'd1', itemIndex: 2, reason: 'eventId is missing' }],
        },
        batch,
      );
      return Promise.resolve([{ stored: true as const }, { stored: true as const }]);
    });
    expect(verdicts).toHaveLength(2);
    const store = spans().find((span) => span.name === 'store deliveries')!;
    expect(store.parentSpanContext).toBeUndefined();
    expect(store.links.map((link) => link.context.traceId)).toEqual([storedTraceId]);
    expect(store.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: '1 quarantined; first: eventId is missing',
    });
    expect(store.attributes['webhook.events.applied']).toBe(1);
    const quarantine = spans().find((span) => span.name === 'quarantine')!;
    expect(quarantine.spanContext().traceId).toBe(storedTraceId);
    expect(quarantine.status.code).toBe(SpanStatusCode.ERROR);
    expect(quarantine.attributes['webhook.item_index']).toBe(2);
  });

  it('reports a dead-lettered delivery on the batch span', async () => {
    await traceStoreBatch([{ deliveryId: 'd3' }], () =>
      Promise.resolve([{ stored: false as const, reason: 'storage failed: boom' }]),
    );
    expect(spans()[0].status.message).toBe('delivery not stored, dead-lettered: storage failed: boom');
  });

  it('publishes a round of feed events, each a child of its stored trace (a replay says so), ended by the one wait', async () => {
    const replayed: PublishProperties = { headers: {} };
    const fresh: PublishProperties = {};
    let open = -1;
    await traceFeedRound(
      [
        {
          ...target,
          event: { eventId: 'e1', deliveryId: 'd1', traceparent: stored },
          replay: true,
          properties: replayed,
        },
        {
          ...target,
          event: { eventId: 'e2', deliveryId: 'd2', traceparent: null },
          replay: false,
          properties: fresh,
        },
      ],
      () => {
        open = spans().length; // none ended before the wait settles
        return Promise.resolve();
      },
    );
    expect(open).toBe(0);
    const [first, second] = spans();
    expect(first.name).toBe('replay x.deliveries');
    expect(first.spanContext().traceId).toBe(storedTraceId);
    expect(first.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(first.attributes['feed.replay']).toBe(true);
    expect(first.attributes).toMatchObject({ 'webhook.event_id': 'e1' });
    expect(first.attributes).not.toHaveProperty('webhook.delivery_id'); // its trace names it
    expect(String(replayed.headers?.traceparent)).toContain(first.spanContext().spanId);
    expect(second.name).toBe('publish x.deliveries');
    expect(second.parentSpanContext).toBeUndefined();
    // No stored trace: the span starts one, so it names its delivery; not a replay, so no flag.
    expect(second.attributes['webhook.delivery_id']).toBe('d2');
    expect(second.attributes).not.toHaveProperty('feed.replay');
    expect(String(fresh.headers?.traceparent)).toContain(second.spanContext().traceId);
  });

  it('fails every span of a round whose confirm wait failed', async () => {
    const event = { eventId: 'e1', deliveryId: 'd1', traceparent: null };
    await expect(
      traceFeedRound([{ ...target, event, replay: false, properties: {} }], () =>
        Promise.reject(new Error('nack')),
      ),
    ).rejects.toThrow('nack');
    expect(spans()[0].status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'nack' });
  });

  it('sends a destination request as a CLIENT child of its stored trace; a non-2xx answer is an error', async () => {
    const headers: Record<string, string> = {};
    const destination = {
      destination: 'crm',
      url: 'https://crm.example/in',
      eventId: 'e1',
      traceparent: stored,
    };
    await traceDestinationRequest(destination, headers, () => Promise.resolve(503));
    const span = spans()[0];
    expect(span.name).toBe('POST crm');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.spanContext().traceId).toBe(storedTraceId);
    expect(span.attributes['http.response.status_code']).toBe(503);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(headers.traceparent).toContain(storedTraceId);
  });
});
