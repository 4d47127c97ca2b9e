import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { DestinationsConfig } from '../config/config.slices';
import { FileWatch } from '../signature/file-watch';
import { DestinationMetrics } from './destination.metrics';
import {
  DestinationsFileError,
  keyFingerprint,
  parseDestinationsFile,
  type Destination,
} from './destinations-file';

type ReloadTrigger = 'SIGHUP' | 'change';

/**
 * The destinations in force: DESTINATIONS_FILE, read at start-up (a bad file stops start-up, naming
 * the destination and field) and again on SIGHUP and whenever the file may have changed, as
 * WEBHOOK_SPACES_FILE is. A reload swaps the whole list in one assignment; a bad file keeps the
 * list in force and says why. Without the variable there are none.
 */
@Injectable()
export class Destinations implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Destinations');
  private list: readonly Destination[] = [];
  private lastText?: string;
  private watch?: FileWatch;
  private readonly onHangup = () => this.reload('SIGHUP');

  constructor(
    private readonly config: DestinationsConfig,
    private readonly metrics: DestinationMetrics,
  ) {}

  /** Whether the outbox must be kept for destinations (the file is configured, even if empty now). */
  get configured(): boolean {
    return this.config.file !== null;
  }

  get all(): readonly Destination[] {
    return this.list;
  }

  byName(name: string): Destination | undefined {
    return this.list.find((destination) => destination.name === name);
  }

  onModuleInit(): void {
    const file = this.config.file;
    if (file === null) return;
    try {
      this.lastText = readFileSync(file, 'utf8');
      this.use(parseDestinationsFile(this.lastText));
    } catch (err) {
      throw new Error(`DESTINATIONS_FILE (${file}): ${problemOf(err)}`);
    }
    this.logLoaded('start-up');
    this.watch = new FileWatch(file, () => this.reload('change'));
    process.on('SIGHUP', this.onHangup);
  }

  onModuleDestroy(): void {
    this.watch?.close();
    process.off('SIGHUP', this.onHangup);
  }

  /** Reads the file again (on a change event only when its text changed); whether the file's list is in force. */
  reload(trigger: ReloadTrigger): boolean {
    const file = this.config.file;
    if (file === null) return false;
    try {
      const text = readFileSync(file, 'utf8');
      if (trigger === 'change' && text === this.lastText) return true;
      this.lastText = text;
      this.use(parseDestinationsFile(text));
    } catch (err) {
      this.metrics.reloads.inc({ result: 'failure' });
      this.logger.warn({
        msg: 'DESTINATIONS_FILE not reloaded: the destinations in force stay',
        file,
        trigger,
        reason: problemOf(err),
        destinations: this.list.map((destination) => destination.name),
      });
      return false;
    } finally {
      this.watch?.rearm();
    }
    this.metrics.reloads.inc({ result: 'success' });
    this.logLoaded(trigger);
    return true;
  }

  private use(list: Destination[]): void {
    for (const destination of list) this.metrics.declare(destination.name);
    this.list = list;
  }

  private logLoaded(trigger: ReloadTrigger | 'start-up'): void {
    // Fingerprints of the keys only, never a secret; the URL without its query (it may carry a token).
    this.logger.log({
      msg: 'DESTINATIONS_FILE loaded',
      file: this.config.file,
      trigger,
      destinations: this.list.map((d) => ({
        name: d.name,
        url: `${new URL(d.url).origin}${new URL(d.url).pathname}`,
        filter: d.filter,
        keys: d.keys.map(keyFingerprint),
      })),
    });
  }
}

function problemOf(err: unknown): string {
  if (err instanceof DestinationsFileError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code) return `cannot read the file (${code})`;
  return err instanceof Error ? err.message : String(err);
}
