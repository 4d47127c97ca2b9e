import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { SignatureConfig } from '../config/config.slices';
import { FileWatch } from './file-watch';
import { SecretRing, type Verification } from './secret-ring';
import { SignatureMetrics } from './signature.metrics';
import { SpacesFileError, parseSpacesFile, spacesFileWarnings } from './spaces-file';

export type ReloadTrigger = 'SIGHUP' | 'change';

/**
 * The secrets in force: WEBHOOK_SECRETS plus WEBHOOK_SPACES_FILE, read at start-up (a bad file stops
 * start-up, naming the file) and again on SIGHUP and whenever the file may have changed. A reload
 * builds a new SecretRing and swaps it in one assignment; a bad file keeps the ring in force and
 * says why. Verification is synchronous, so a request is verified against one ring from start to end.
 */
@Injectable()
export class SpaceSecrets implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('SpaceSecrets');
  private ring?: SecretRing;
  /** The file's text as last read, so a change event that changed nothing is not a reload. */
  private lastText?: string;
  private watch?: FileWatch;
  private readonly onHangup = () => this.reload('SIGHUP');

  constructor(
    private readonly config: SignatureConfig,
    private readonly metrics: SignatureMetrics,
  ) {}

  onModuleInit(): void {
    const file = this.config.spacesFile;
    if (file === null) {
      this.ring = SecretRing.of(this.config.secrets);
      return;
    }
    try {
      this.lastText = readFileSync(file, 'utf8');
      this.ring = this.ringOf(this.lastText);
    } catch (err) {
      throw new Error(`WEBHOOK_SPACES_FILE (${file}): ${problemOf(err)}`);
    }
    this.logLoaded('start-up');
    this.watch = new FileWatch(file, () => this.reload('change'));
    process.on('SIGHUP', this.onHangup);
  }

  onModuleDestroy(): void {
    this.watch?.close();
    process.off('SIGHUP', this.onHangup);
  }

  /** Verifies one delivery against the ring in force now, and counts which secret matched. */
  verify(body: Buffer, header: string | string[] | undefined): Verification {
    if (!this.ring) throw new Error('SpaceSecrets used before the application was initialised');
    const verification = this.ring.verify(body, header);
    if (verification.ok) this.metrics.countMatch(verification);
    return verification;
  }

  /**
   * Reads the file again. On SIGHUP always; on a change event only when its text changed. Returns
   * whether the ring in force is now the file's.
   */
  reload(trigger: ReloadTrigger): boolean {
    const file = this.config.spacesFile;
    if (file === null || !this.ring) return false;
    try {
      const text = readFileSync(file, 'utf8');
      if (trigger === 'change' && text === this.lastText) return true;
      this.lastText = text;
      this.ring = this.ringOf(text);
    } catch (err) {
      this.metrics.countReload('failure');
      this.logger.warn({
        msg: 'WEBHOOK_SPACES_FILE not reloaded: the secrets in force stay',
        file,
        trigger,
        reason: problemOf(err),
        secrets: this.ring.size,
      });
      return false;
    } finally {
      // The file may be a new inode now (renamed over, symlink swapped): watch that one.
      this.watch?.rearm();
    }
    this.metrics.countReload('success');
    this.logLoaded(trigger);
    return true;
  }

  private ringOf(text: string): SecretRing {
    const table = parseSpacesFile(text, this.config.secrets);
    if (table.bySpace.size === 0 && table.anySpace.length === 0 && this.config.secrets.length === 0)
      throw new SpacesFileError(['names no secret, and WEBHOOK_SECRETS is not set']);
    for (const warning of spacesFileWarnings(table)) this.logger.warn(warning);
    return SecretRing.of(this.config.secrets, table);
  }

  private logLoaded(trigger: ReloadTrigger | 'start-up'): void {
    // Fingerprints only (as in the metrics), never a secret.
    this.logger.log({
      msg: 'WEBHOOK_SPACES_FILE loaded',
      file: this.config.spacesFile,
      trigger,
      secrets: this.ring?.size,
      keys: this.ring?.describe(),
    });
  }
}

/** A reason fit for a log line: the file's problems, or the read error's code; never its content. */
function problemOf(err: unknown): string {
  if (err instanceof SpacesFileError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code) return `cannot read the file (${code})`;
  return err instanceof Error ? err.message : String(err);
}
