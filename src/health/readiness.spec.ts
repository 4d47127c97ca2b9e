import { Lifecycle } from '../lifecycle/lifecycle';
import { HealthRegistry, type HealthProbe } from './health.registry';
import { Readiness } from './readiness';

const probe = (
  dependency: string,
  neededFor: HealthProbe['neededFor'],
  up: boolean,
  part?: string,
): HealthProbe => ({
  dependency,
  part,
  neededFor,
  check: () => ({ up, state: up ? 'connected' : 'disconnected: ECONNREFUSED' }),
});

function readinessOf(...probes: HealthProbe[]): { readiness: Readiness; lifecycle: Lifecycle } {
  const registry = new HealthRegistry();
  for (const p of probes) registry.register(p);
  const lifecycle = new Lifecycle();
  return { readiness: new Readiness(lifecycle, registry), lifecycle };
}

describe(Readiness.name, () => {
  it('judges an instance that receives by what receiving needs: a database outage keeps it ready', async () => {
    const { readiness } = readinessOf(
      probe('rabbitmq', 'receiving', true, 'publisher'),
      probe('rabbitmq', 'storing', true, 'consumer'),
      probe('postgres', 'storing', false),
    );
    expect(readiness.probes().map((p) => p.part ?? p.dependency)).toEqual(['publisher']);
    expect(await readiness.check()).toEqual({ ready: true, reason: null });
  });

  it('judges a storing-only instance (worker) by the broker and the database, and says what is missing', async () => {
    const { readiness } = readinessOf(
      probe('rabbitmq', 'storing', true, 'consumer'),
      probe('postgres', 'storing', false),
      probe('feed', 'nothing', false),
    );
    expect(await readiness.check()).toEqual({ ready: false, reason: 'postgres: disconnected: ECONNREFUSED' });
  });

  it('is never ready once shutting down', async () => {
    const { readiness, lifecycle } = readinessOf(probe('rabbitmq', 'receiving', true, 'publisher'));
    lifecycle.beginShutdown();
    expect(await readiness.check()).toEqual({ ready: false, reason: 'the instance is shutting down' });
  });

  it('ignores probes nothing is needed for', async () => {
    const { readiness } = readinessOf(
      probe('rabbitmq', 'receiving', true, 'publisher'),
      probe('rabbitmq', 'nothing', false, 'outbound'),
    );
    expect((await readiness.check()).ready).toBe(true);
  });
});
