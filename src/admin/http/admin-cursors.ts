import { Injectable } from '@nestjs/common';
import { AdminConfig } from '../../config/config.slices';
import { CursorCodec } from './cursor';

/** The cursor codec of this deployment (keyed by ADMIN_API_KEYS, shared by every replica). */
@Injectable()
export class AdminCursors {
  readonly codec: CursorCodec;

  constructor(config: AdminConfig) {
    this.codec = new CursorCodec(config.apiKeys);
  }
}
