import { DestinationLane, UNDELETED_WAVES } from './destination.lane';
import type { DueRow } from './destination.statements';
import type { Destination } from './destinations-file';

const destination = { name: 'crm', maxInFlight: 2 } as Destination;

function rows(...positions: number[]): DueRow[] {
  return positions.map((position) => ({ position: String(position), item: 0, attempts: 0, event: null }));
}

const heldPositions = (lane: DestinationLane) => lane.heldKeys().map((key) => Number(key.position));

describe('DestinationLane', () => {
  it('reads ahead several waves, and reads nothing while a wave is still buffered', () => {
    const lane = new DestinationLane(destination);
    expect(lane.wanted(2)).toBe(16);
    lane.add(rows(1, 2, 3));
    expect(lane.wanted(2)).toBe(0);
    expect(lane.wanted(0)).toBe(0);
    lane.next(2);
    lane.next(2);
    // one row left for two slots: top up to eight waves again
    expect(lane.wanted(2)).toBe(15);
  });

  it('starts rows in order and never more than the capacity at once', () => {
    const lane = new DestinationLane(destination);
    lane.add(rows(1, 2, 3));
    const first = lane.next(2);
    const second = lane.next(2);
    expect([first?.position, second?.position]).toEqual(['1', '2']);
    expect(lane.next(2)).toBeUndefined();
    lane.ended(first as DueRow, true);
    expect(lane.next(2)?.position).toBe('3');
    expect(lane.next(2)).toBeUndefined();
  });

  it('asks for a DELETE after a wave of answers, and starts nothing while UNDELETED_WAVES waves wait for it', () => {
    const lane = new DestinationLane(destination);
    const waiting = UNDELETED_WAVES * 2;
    lane.add(rows(...Array.from({ length: waiting + 2 }, (_, k) => k + 1)));
    const answer = () => lane.ended(lane.next(2) as DueRow, true);
    answer();
    expect(lane.mustDelete(2)).toBe(false);
    answer();
    expect(lane.mustDelete(2)).toBe(true);
    for (let k = 2; k < waiting; k++) answer();
    // nothing is being sent, but UNDELETED_WAVES waves of answered rows wait for their DELETE
    expect(lane.next(2)).toBeUndefined();
    const answered = lane.takeDelivered();
    expect(answered).toHaveLength(waiting);
    lane.release(answered);
    expect(lane.mustDelete(2)).toBe(false);
    expect(lane.next(2)?.position).toBe(String(waiting + 1));
  });

  it('holds a delivered row until its DELETE, and lets a failed one go at once', () => {
    const lane = new DestinationLane(destination);
    lane.add(rows(1, 2));
    const delivered = lane.next(2) as DueRow;
    const failed = lane.next(2) as DueRow;
    lane.ended(delivered, true);
    lane.ended(failed, false);
    expect(heldPositions(lane)).toEqual([1]);
    const toDelete = lane.takeDelivered();
    expect(toDelete).toEqual([{ position: '1', item: 0 }]);
    expect(lane.takeDelivered()).toEqual([]);
    lane.release(toDelete);
    expect(heldPositions(lane)).toEqual([]);
  });

  it('gives buffered rows back when it drops its buffer, keeping the rows being sent', () => {
    const lane = new DestinationLane(destination);
    lane.add(rows(1, 2, 3));
    lane.next(2);
    lane.dropBuffer();
    expect(heldPositions(lane)).toEqual([1]);
    expect(lane.next(2)).toBeUndefined();
  });
});
