import { Injectable } from '@nestjs/common';
import { AdminConfig } from '../../config/config.slices';
import { CursorCodec } from './cursor';

/** The cursor codecs of this deployment, one per list (keyed by ADMIN_API_KEYS, shared by every replica). */
@Injectable()
export class AdminCursors {
  readonly events: CursorCodec;
  readonly quarantine: CursorCodec;

  constructor(config: AdminConfig) {
    this.events = new CursorCodec(config.apiKeys, 'events');
    this.quarantine = new CursorCodec(config.apiKeys, 'quarantine');
  }
}
