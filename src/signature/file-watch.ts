import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

/** Quiet time after the last event before `onChange` runs: an editor's save is several events. */
export const DEFAULT_DEBOUNCE_MS = 100;

type Slot = 'directory' | 'file' | 'target directory';

/**
 * Calls `onChange` (debounced) after anything may have changed the file at `path`, however it was
 * changed:
 * - written in place, or through a bind mount (Docker secrets: only a watch on the file itself sees
 *   a change made on the host);
 * - replaced atomically (written beside it and renamed over it), or a symlink swapped (Kubernetes
 *   ConfigMaps and Secrets rename a `..data` symlink): only a watch on the directory sees those, as
 *   a watch on the file keeps following the old inode;
 * - a symlink whose target is edited elsewhere: the target's directory.
 * Events are only a prompt to read the file again (they do not say which file changed), so after
 * each read `rearm()` watches the file and its target afresh. Watchers never keep the process alive.
 */
export class FileWatch {
  private readonly watchers = new Map<Slot, FSWatcher>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly onChange: () => void,
    private readonly debounceMs = DEFAULT_DEBOUNCE_MS,
  ) {
    this.arm('directory', dirname(path));
    this.rearm();
  }

  /** Watches the file, and its target's directory, as they are now (new inodes after a rename). */
  rearm(): void {
    if (this.closed) return;
    this.disarm('file');
    this.disarm('target directory');
    this.arm('file', this.path);
    const target = realDirectoryOf(this.path);
    if (target !== null && target !== realDirectoryOf(dirname(this.path), true))
      this.arm('target directory', target);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const slot of [...this.watchers.keys()]) this.disarm(slot);
  }

  private arm(slot: Slot, path: string): void {
    try {
      const watcher = watch(path, { persistent: false }, () => this.changed());
      // The watched file or directory went away: the directory watch (or SIGHUP) still reloads.
      watcher.on('error', () => {
        watcher.close();
        if (this.watchers.get(slot) === watcher) this.watchers.delete(slot);
      });
      this.watchers.set(slot, watcher);
    } catch {
      // Missing right now (between an unlink and a create): the directory watch sees it come back.
    }
  }

  private disarm(slot: Slot): void {
    this.watchers.get(slot)?.close();
    this.watchers.delete(slot);
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onChange(), this.debounceMs);
    this.timer.unref();
  }
}

/** The real directory holding `path`'s target (or, with `itself`, `path` itself resolved), or null. */
function realDirectoryOf(path: string, itself = false): string | null {
  try {
    const real = realpathSync(path);
    return itself ? real : dirname(real);
  } catch {
    return null;
  }
}
