import type { Queryable } from './destination.statements';

export type DestinationStateName = 'active' | 'paused' | 'disabled';

/** A destination's shared state (destination_state); a destination without a row is active. */
export interface DestinationState {
  state: DestinationStateName;
  consecutiveFailures: number;
  /** Until when the circuit is open (no request; then one probe at a time), or null. */
  circuitOpenUntil: Date | null;
  /** The circuit is open and its time has not come yet (by the database's clock). */
  circuitWaiting: boolean;
  lastError: string | null;
  lastErrorAt: Date | null;
}

export const FRESH_STATE: DestinationState = {
  state: 'active',
  consecutiveFailures: 0,
  circuitOpenUntil: null,
  circuitWaiting: false,
  lastError: null,
  lastErrorAt: null,
};

interface StateRecord {
  name: string;
  state: DestinationStateName;
  consecutive_failures: number;
  circuit_open_until: Date | null;
  circuit_waiting: boolean;
  last_error: string | null;
  last_error_at: Date | null;
}

export async function readStates(runner: Queryable): Promise<Map<string, DestinationState>> {
  const rows = (await runner.query(
    `SELECT name, state, consecutive_failures, circuit_open_until,
            coalesce(circuit_open_until > now(), false) AS circuit_waiting, last_error, last_error_at
       FROM destination_state`,
  )) as StateRecord[];
  return new Map(
    rows.map((row) => [
      row.name,
      {
        state: row.state,
        consecutiveFailures: row.consecutive_failures,
        circuitOpenUntil: row.circuit_open_until,
        circuitWaiting: row.circuit_waiting,
        lastError: row.last_error,
        lastErrorAt: row.last_error_at,
      },
    ]),
  );
}

/** A delivered request closes the circuit. */
export async function noteSuccess(runner: Queryable, name: string): Promise<void> {
  await runner.query(
    `UPDATE destination_state SET consecutive_failures = 0, circuit_open_until = NULL, updated_at = now()
      WHERE name = $1 AND (consecutive_failures > 0 OR circuit_open_until IS NOT NULL)`,
    [name],
  );
}

/**
 * One more failure in a row. From `openAfter` failures on, the circuit opens for `openForMs` (the
 * back-off of the failures past it); a 410 (`disable`) disables the destination. A failure that
 * ends while the circuit is open (a request started before it opened) neither counts nor extends
 * it: only failed probes lengthen the wait, so 16 requests failing together do not push the next
 * probe an hour away. Returns the state.
 */
export async function noteFailure(
  runner: Queryable,
  name: string,
  error: string,
  openAfter: number,
  openForMs: (failures: number) => number,
  disable: boolean,
): Promise<DestinationState> {
  const [row] = (await runner.query(
    `INSERT INTO destination_state AS s (name, consecutive_failures, last_error, last_error_at, state)
     VALUES ($1, 1, $2, now(), CASE WHEN $3 THEN 'disabled' ELSE 'active' END)
     ON CONFLICT (name) DO UPDATE
        SET consecutive_failures = CASE WHEN s.circuit_open_until > now() THEN s.consecutive_failures
                                        ELSE s.consecutive_failures + 1 END,
            last_error = $2, last_error_at = now(),
            state = CASE WHEN $3 THEN 'disabled' ELSE s.state END, updated_at = now()
     RETURNING consecutive_failures, coalesce(circuit_open_until > now(), false) AS waiting`,
    [name, error, disable],
  )) as { consecutive_failures: number; waiting: boolean }[];
  if (!row.waiting && row.consecutive_failures >= openAfter) {
    await runner.query(
      `UPDATE destination_state SET circuit_open_until = now() + $2 * interval '1 millisecond' WHERE name = $1`,
      [name, Math.round(openForMs(row.consecutive_failures))],
    );
  }
  return (await readStates(runner)).get(name) ?? FRESH_STATE;
}

/**
 * An operator's change of state: pause (active → paused), resume (paused → active), enable
 * (disabled → active, closing the circuit too). Returns false when the destination was not in
 * `from` (nothing changed).
 */
export async function changeState(
  runner: Queryable,
  name: string,
  from: DestinationStateName,
  to: DestinationStateName,
): Promise<boolean> {
  await runner.query(`INSERT INTO destination_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
    name,
  ]);
  const [, changed] = (await runner.query(
    `UPDATE destination_state
        SET state = $3, updated_at = now(),
            consecutive_failures = CASE WHEN $3 = 'active' AND $2 = 'disabled' THEN 0 ELSE consecutive_failures END,
            circuit_open_until = CASE WHEN $3 = 'active' AND $2 = 'disabled' THEN NULL ELSE circuit_open_until END
      WHERE name = $1 AND state = $2`,
    [name, from, to],
  )) as [unknown, number];
  return changed > 0;
}

/** What each destination is owed: pending and failed events, and the oldest pending one's age. */
export interface Backlog {
  pending: number;
  failed: number;
  oldestPendingSeconds: number;
}

export async function readBacklogs(runner: Queryable): Promise<Map<string, Backlog>> {
  const rows = (await runner.query(
    `SELECT destination,
            count(*) FILTER (WHERE state = 'pending') AS pending,
            count(*) FILTER (WHERE state = 'failed') AS failed,
            extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending'))::float8 AS oldest
       FROM destination_events GROUP BY destination`,
  )) as { destination: string; pending: string; failed: string; oldest: number | null }[];
  return new Map(
    rows.map((row) => [
      row.destination,
      {
        pending: Number(row.pending),
        failed: Number(row.failed),
        oldestPendingSeconds: Math.max(0, row.oldest ?? 0),
      },
    ]),
  );
}
