import type { ConfirmChannel } from 'amqplib';
import { BrokerUnavailableError } from './broker-unavailable.error';
import { publishAllConfirmed, publishConfirmed, type ConfirmWatch } from './confirmed-publish';

type Confirm = (err: unknown) => void;

/** A confirm channel that records publishes; the test decides when and how each is confirmed. */
function fakeChannel(
  onPublish: (confirm: Confirm, options: Record<string, unknown>) => void = () => undefined,
) {
  const published: Record<string, unknown>[] = [];
  const channel = {
    publish: (
      _exchange: string,
      _key: string,
      _content: Buffer,
      options: Record<string, unknown>,
      confirm: Confirm,
    ) => {
      published.push(options);
      onPublish(confirm, options);
      return true;
    },
  } as unknown as ConfirmChannel;
  return { channel, published };
}

const target = { exchange: 'x', routingKey: 'k' };
const body = Buffer.from('{}');

function watch(returned: string[] = []): ConfirmWatch & { timeouts: number } {
  const w = {
    timeouts: 0,
    wasReturned: (id: string) => returned.includes(id),
    onTimeout: () => void w.timeouts++,
  };
  return w;
}

describe(publishConfirmed.name, () => {
  it('resolves on the broker confirm, and publishes persistent messages', async () => {
    const { channel, published } = fakeChannel((confirm) => setImmediate(() => confirm(null)));
    await expect(
      publishConfirmed(channel, target, body, { messageId: 'm' }, { timeoutMs: 1000 }, watch()),
    ).resolves.toBeUndefined();
    expect(published[0]).toMatchObject({ persistent: true, messageId: 'm' });
  });

  it('rejects a nack with BrokerUnavailableError', async () => {
    const { channel } = fakeChannel((confirm) => setImmediate(() => confirm(new Error('nack'))));
    await expect(publishConfirmed(channel, target, body, {}, { timeoutMs: 1000 }, watch())).rejects.toEqual(
      new BrokerUnavailableError('the broker did not confirm: nack'),
    );
  });

  it('rejects a mandatory message the broker returned before confirming it', async () => {
    const { channel } = fakeChannel((confirm) => setImmediate(() => confirm(null)));
    const options = { mandatory: true, messageId: 'gone' };
    await expect(
      publishConfirmed(channel, target, body, options, { timeoutMs: 1000 }, watch(['gone'])),
    ).rejects.toThrow(/unroutable/);
    // Not mandatory: a return is not looked for.
    await expect(
      publishConfirmed(channel, target, body, { messageId: 'gone' }, { timeoutMs: 1000 }, watch(['gone'])),
    ).resolves.toBeUndefined();
  });

  it('rejects when no confirm comes in time, and says so to the connection', async () => {
    const { channel } = fakeChannel();
    const w = watch();
    await expect(publishConfirmed(channel, target, body, {}, { timeoutMs: 20 }, w)).rejects.toThrow(
      /no broker confirm within 20 ms/,
    );
    expect(w.timeouts).toBe(1);
  });

  it('gives up when the caller aborts, already or while waiting', async () => {
    const { channel } = fakeChannel();
    const aborted = AbortSignal.abort();
    await expect(
      publishConfirmed(channel, target, body, {}, { timeoutMs: 5000, signal: aborted }, watch()),
    ).rejects.toThrow(/shutting down/);
    const controller = new AbortController();
    const pending = publishConfirmed(
      channel,
      target,
      body,
      {},
      { timeoutMs: 5000, signal: controller.signal },
      watch(),
    );
    controller.abort();
    await expect(pending).rejects.toThrow(/shutting down/);
  });

  it('rejects when publish itself throws (a closed channel)', async () => {
    const channel = {
      publish: () => {
        throw new Error('Channel closed');
      },
    } as unknown as ConfirmChannel;
    await expect(publishConfirmed(channel, target, body, {}, { timeoutMs: 1000 }, watch())).rejects.toThrow(
      'publish failed: Channel closed',
    );
  });

  it('settles once: a late confirm after a timeout changes nothing', async () => {
    let late: Confirm = () => undefined;
    const { channel } = fakeChannel((confirm) => (late = confirm));
    await expect(publishConfirmed(channel, target, body, {}, { timeoutMs: 10 }, watch())).rejects.toThrow(
      /no broker confirm/,
    );
    expect(() => late(null)).not.toThrow();
  });
});

describe(publishAllConfirmed.name, () => {
  const messages = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ ...target, content: body, properties: { messageId: `m${i}` } }));

  it('publishes every message in order, persistent, before any confirm, and resolves once all are confirmed', async () => {
    const confirms: Confirm[] = [];
    const { channel, published } = fakeChannel((confirm) => confirms.push(confirm));
    let resolved = false;
    const all = publishAllConfirmed(channel, messages(3), { timeoutMs: 1000 }, () => undefined).then(
      () => (resolved = true),
    );
    expect(published.map((options) => options.messageId)).toEqual(['m0', 'm1', 'm2']);
    expect(published.every((options) => options.persistent === true)).toBe(true);
    confirms[2](null);
    confirms[0](null);
    await new Promise(setImmediate);
    expect(resolved).toBe(false);
    confirms[1](null);
    await all;
    expect(resolved).toBe(true);
  });

  it('rejects at the first nack', async () => {
    const { channel } = fakeChannel((confirm, options) =>
      setImmediate(() => confirm(options.messageId === 'm1' ? new Error('nack') : null)),
    );
    await expect(
      publishAllConfirmed(channel, messages(3), { timeoutMs: 1000 }, () => undefined),
    ).rejects.toEqual(new BrokerUnavailableError('the broker did not confirm: nack'));
  });

  it('rejects when not every confirm came within the limit, and says so once', async () => {
    let timeouts = 0;
    const { channel } = fakeChannel((confirm, options) => {
      if (options.messageId !== 'm2') setImmediate(() => confirm(null));
    });
    await expect(
      publishAllConfirmed(channel, messages(3), { timeoutMs: 20 }, () => void timeouts++),
    ).rejects.toEqual(new BrokerUnavailableError('no broker confirm of 1 messages within 20 ms'));
    expect(timeouts).toBe(1);
  });

  it('rejects when a publish throws (the channel closed mid-batch)', async () => {
    const { channel } = fakeChannel((_confirm, options) => {
      if (options.messageId === 'm1') throw new Error('Channel closed');
    });
    await expect(
      publishAllConfirmed(channel, messages(3), { timeoutMs: 1000 }, () => undefined),
    ).rejects.toEqual(new BrokerUnavailableError('publish failed: Channel closed'));
  });

  it('resolves at once for no messages', async () => {
    const { channel, published } = fakeChannel();
    await expect(
      publishAllConfirmed(channel, [], { timeoutMs: 1000 }, () => undefined),
    ).resolves.toBeUndefined();
    expect(published).toEqual([]);
  });
});
