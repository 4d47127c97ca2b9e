import { Injectable } from '@nestjs/common';
import { AdminConfig } from '../../config/config.slices';
import { CursorCodec } from './cursor';

/** The cursor codecs of this deployment, one per list (keyed by the admin keys, shared by every replica). */
@Injectable()
export class AdminCursors {
  readonly events: CursorCodec;
  readonly quarantine: CursorCodec;
  readonly audit: CursorCodec;

  constructor(config: AdminConfig) {
    const keys = [...config.apiKeys, ...config.readKeys];
    this.events = new CursorCodec(keys, 'events');
    this.quarantine = new CursorCodec(keys, 'quarantine');
    this.audit = new CursorCodec(keys, 'audit');
  }
}
