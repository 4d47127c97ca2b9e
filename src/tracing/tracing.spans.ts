import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { TRACEPARENT_HEADER, formatTraceparent, spanContextOfTraceparent } from './traceparent';
import { tracingState } from './tracing.state';

/*
 * The spans the instrumentations cannot know (DESIGN §14), with @opentelemetry/api only: without
 * the SDK these hooks return at their first line, so tracing off costs one branch per call.
 * Each takes the operation as a function, so the modules that call them stay free of OpenTelemetry.
 */

const tracer = () => trace.getTracer('omnichannel-webhook-receiver');

/** Publish properties as amqplib takes them; only the headers are touched. */
export interface PublishProperties {
  headers?: Record<string, unknown>;
}

export interface PublishTarget {
  exchange: string;
  routingKey: string;
}

/** What a delivery publish says of itself. */
export interface DeliveryOrigin {
  deliveryId: string;
  itemCount: number;
  quarantineReason?: string;
  /** The quarantine row an operator replayed, when this delivery is such a replay. */
  replayOf?: string;
}

/**
 * The publish of a delivery to the broker, child of the active context (the POST /webhook request
 * span, or an operator's replay request): its context travels in the message's `traceparent`.
 * A publish that fails (broker away, no confirm) ends with status ERROR and the reason.
 */
export function traceDeliveryPublish(
  target: PublishTarget,
  delivery: DeliveryOrigin,
  properties: PublishProperties,
  publish: () => Promise<void>,
): Promise<void> {
  if (!tracingState.enabled) return publish();
  const attributes = messaging(target);
  attributes['messaging.message.id'] = delivery.deliveryId;
  attributes['webhook.delivery_id'] = delivery.deliveryId;
  attributes['webhook.item_count'] = delivery.itemCount;
  if (delivery.quarantineReason !== undefined)
    attributes['webhook.quarantine_reason'] = delivery.quarantineReason;
  if (delivery.replayOf !== undefined) {
    attributes['webhook.replay'] = true;
    attributes['webhook.replay_of'] = delivery.replayOf;
  }
  const name = delivery.replayOf === undefined ? `publish ${target.exchange}` : `replay ${target.exchange}`;
  return producerSpan(name, attributes, context.active(), properties, publish);
}

/** A stored event as the feed relay publishes it: where its trace came from. */
export interface FeedOrigin {
  eventId: string;
  deliveryId: string;
  traceparent: string | null;
}

/** One feed message of a relay round: where it goes, which stored event it carries, its properties. */
export interface FeedPublish extends PublishTarget {
  event: FeedOrigin;
  replay: boolean;
  properties: PublishProperties;
}

/**
 * The feed relay's publishes of one round, which share one wait for the broker's confirms: a
 * PRODUCER span per event, a child of the trace the event was stored with, so the feed message's
 * `traceparent` names the trace of the POST that brought it, after the outbox, a relay takeover or
 * a replay alike (a replay says so). Every span starts (and goes into its message's headers) before
 * `publish`, and all end when it settles, failed with its reason if it throws. Without tracing here,
 * nothing is done: the traceparent stored by a traced replica travels on in the message's headers
 * (feedMessageOf).
 */
export async function traceFeedRound(
  round: readonly FeedPublish[],
  publish: () => Promise<void>,
): Promise<void> {
  if (!tracingState.enabled) return publish();
  const spans = round.map((message) => {
    const { event, replay, properties } = message;
    // Only what the trace does not say already: a span per event is most of what is exported.
    const attributes = messaging(message);
    attributes['webhook.event_id'] = event.eventId;
    if (replay) attributes['feed.replay'] = true;
    // Stored by a replica without tracing: this span starts a trace, so it names the delivery.
    if (event.traceparent === null) attributes['webhook.delivery_id'] = event.deliveryId;
    const span = tracer().startSpan(
      replay ? `replay ${message.exchange}` : `publish ${message.exchange}`,
      { kind: SpanKind.PRODUCER, attributes },
      contextOf(event.traceparent),
    );
    (properties.headers ??= {})[TRACEPARENT_HEADER] = formatTraceparent(span.spanContext());
    return span;
  });
  try {
    await publish();
  } catch (err) {
    for (const span of spans) fail(span, err);
    throw err;
  } finally {
    for (const span of spans) span.end();
  }
}

/** A delivery of a batch, as the consumer stores it. */
/** One request to an HTTP destination (DESIGN §13). */
export interface DestinationTarget {
  destination: string;
  url: string;
  eventId: string;
  traceparent: string | null;
}

/**
 * A destination request: a CLIENT span, child of the trace the event was stored with (as the feed
 * publish is), injected into the request's headers; the answer's status is set on the span. Without
 * tracing here, a stored traceparent still travels on, unchanged.
 */
export function traceDestinationRequest(
  target: DestinationTarget,
  headers: Record<string, string>,
  send: () => Promise<number | null>,
): Promise<number | null> {
  if (!tracingState.enabled) {
    if (target.traceparent !== null) headers[TRACEPARENT_HEADER] = target.traceparent;
    return send();
  }
  const parent = contextOf(target.traceparent);
  const attributes: Attributes = {
    'http.request.method': 'POST',
    'url.full': target.url,
    'webhook.event_id': target.eventId,
    'destination.name': target.destination,
  };
  return tracer().startActiveSpan(
    `POST ${target.destination}`,
    { kind: SpanKind.CLIENT, attributes },
    parent,
    async (span) => {
      headers[TRACEPARENT_HEADER] = formatTraceparent(span.spanContext());
      // And whatever else OTEL_PROPAGATORS names for HTTP (b3, baggage, …).
      propagation.inject(context.active(), headers);
      try {
        const status = await send();
        if (status !== null) span.setAttribute('http.response.status_code', status);
        if (status === null || status < 200 || status >= 300)
          fail(span, status === null ? 'no answer' : `HTTP ${status}`);
        return status;
      } catch (err) {
        fail(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

export interface BatchMember {
  deliveryId: string;
  traceparent?: string;
}

export type StoreVerdict = { stored: true } | { stored: false; reason: string };

/**
 * The consumer's store of one batch: a trace of its own (a batch mixes deliveries of many traces)
 * linked to the trace of each delivery. Active while the batch is stored, so the pg spans and the
 * log lines of the batch belong to it. A delivery that could not be stored at all (dead-lettered)
 * sets status ERROR with its reason.
 */
export async function traceStoreBatch(
  batch: readonly BatchMember[],
  store: () => Promise<StoreVerdict[]>,
): Promise<StoreVerdict[]> {
  if (!tracingState.enabled) return store();
  const links: Link[] = [];
  for (const member of batch) {
    if (member.traceparent === undefined) continue;
    const linked = spanContextOfTraceparent(member.traceparent);
    links.push({ context: linked, attributes: { 'webhook.delivery_id': member.deliveryId } });
  }
  const span = tracer().startSpan(
    'store deliveries',
    {
      kind: SpanKind.CONSUMER,
      root: true,
      links,
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'process',
        'messaging.batch.message_count': batch.length,
      },
    },
    ROOT_CONTEXT,
  );
  try {
    const verdicts = await context.with(trace.setSpan(ROOT_CONTEXT, span), store);
    const failed = verdicts.find((verdict) => !verdict.stored);
    if (failed && !failed.stored) fail(span, `delivery not stored, dead-lettered: ${failed.reason}`);
    return verdicts;
  } catch (err) {
    fail(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** What one store attempt wrote, as far as a trace tells it. */
export interface StoreSummary {
  applied: number;
  stale: number;
  untracked: number;
  duplicate: number;
  quarantined: readonly { deliveryId: string; itemIndex: number | null; reason: string }[];
}

/**
 * Notes an attempt's outcome on the batch span. Quarantined items set its status ERROR with their
 * reason, and each appears, with status ERROR, in the trace of the delivery it came from: the one
 * an operator follows from the POST.
 */
export function noteStored(outcome: StoreSummary, batch: readonly BatchMember[]): void {
  if (!tracingState.enabled) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  for (const key of ['applied', 'stale', 'untracked', 'duplicate'] as const)
    if (outcome[key] > 0) span.setAttribute(`webhook.events.${key}`, outcome[key]);
  if (outcome.quarantined.length === 0) return;
  span.setAttribute('webhook.quarantined', outcome.quarantined.length);
  const first = outcome.quarantined[0];
  fail(span, `${outcome.quarantined.length} quarantined; first: ${first.reason}`);
  const traceOf = new Map(batch.map((member) => [member.deliveryId, member.traceparent]));
  const batchLink: Link = { context: span.spanContext() };
  for (const item of outcome.quarantined) {
    const attributes: Attributes = {
      'webhook.delivery_id': item.deliveryId,
      'webhook.quarantine_reason': item.reason,
    };
    if (item.itemIndex !== null) attributes['webhook.item_index'] = item.itemIndex;
    span.addEvent('quarantined', attributes);
    const traceparent = traceOf.get(item.deliveryId);
    if (traceparent === undefined) continue;
    const quarantine = tracer().startSpan(
      'quarantine',
      { kind: SpanKind.INTERNAL, links: [batchLink], attributes },
      contextOf(traceparent),
    );
    fail(quarantine, item.reason);
    quarantine.end();
  }
}

function producerSpan(
  name: string,
  attributes: Attributes,
  parent: Context,
  properties: PublishProperties,
  publish: () => Promise<void>,
): Promise<void> {
  return tracer().startActiveSpan(name, { kind: SpanKind.PRODUCER, attributes }, parent, async (span) => {
    (properties.headers ??= {})[TRACEPARENT_HEADER] = formatTraceparent(span.spanContext());
    try {
      await publish();
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * A publish span's messaging attributes, one literal the caller adds its own to by assignment (a
 * spread of it into another literal made V8 build a slow object that every later step walked again:
 * a third of a feed span's cost).
 */
function messaging(target: PublishTarget): Attributes {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': 'send',
    'messaging.destination.name': target.exchange,
    'messaging.rabbitmq.destination.routing_key': target.routingKey,
  };
}

/** A stored traceparent as a parent context (the root when none was stored). */
function contextOf(traceparent: string | null | undefined): Context {
  if (traceparent === null || traceparent === undefined) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, spanContextOfTraceparent(traceparent));
}

function fail(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error) span.recordException(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
