import { Injectable } from '@nestjs/common';
import { WakeSignal } from '../common/wake-signal';

/**
 * Wakes the feed relay of this process as soon as a batch with new events committed, so the
 * feed's latency is not the relay's polling interval (which still covers other replicas' commits).
 */
@Injectable()
export class FeedSignal extends WakeSignal {}
