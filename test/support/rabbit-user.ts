import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { AMQP_URL } from './env';

const run = promisify(execFile);

/** A regular expression matching exactly `text` (RabbitMQ permissions are PCRE). */
export function exactly(text: string): string {
  return `^${text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}$`;
}

/**
 * A RabbitMQ user of the test's own on the machine's broker (rabbitmqctl), with permissions given as
 * regular expressions, e.g. one that may not publish to one exchange. `remove()` deletes it.
 */
export class RabbitUser {
  private constructor(
    readonly name: string,
    readonly url: string,
  ) {}

  static async create(
    name: string,
    { configure = '.*', write = '.*', read = '.*' }: { configure?: string; write?: string; read?: string },
  ): Promise<RabbitUser> {
    const password = randomBytes(12).toString('hex');
    await run('rabbitmqctl', ['-q', 'add_user', name, password]);
    await run('rabbitmqctl', ['-q', 'set_permissions', '-p', '/', name, configure, write, read]);
    const url = new URL(AMQP_URL);
    url.username = encodeURIComponent(name);
    url.password = password;
    return new RabbitUser(name, url.toString());
  }

  async remove(): Promise<void> {
    await run('rabbitmqctl', ['-q', 'delete_user', this.name]).catch(() => undefined);
  }
}
