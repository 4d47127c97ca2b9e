import {
  Controller,
  Get,
  NotFoundException,
  Param,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AdminKeys } from '../admin/http/admin-keys';
import { AdminConfig } from '../config/config.slices';
import { SchemaReadyGuard } from '../database/schema-ready.guard';
import { sessionCookie, setSessionCookie } from './console-auth';
import { ConsoleErrorFilter } from './console-error.filter';
import { readForm } from './console-form';
import { ConsoleSessions } from './console-sessions';
import { ConsoleViews } from './console-views';

/** Sign-in (an admin key for a session cookie) and the console's static files. */
@Controller('console')
@UseFilters(ConsoleErrorFilter)
@ApiExcludeController()
export class LoginController {
  private readonly keys: AdminKeys;

  constructor(
    private readonly sessions: ConsoleSessions,
    private readonly views: ConsoleViews,
    private readonly config: AdminConfig,
  ) {
    this.keys = new AdminKeys(config);
  }

  @Get('login')
  @UseGuards(SchemaReadyGuard)
  async form(@Req() req: Request, @Res() res: Response): Promise<void> {
    const cookie = sessionCookie(req);
    if (cookie && (await this.sessions.resume(cookie))) return res.redirect(303, '/console');
    const ended = req.query.ended === '1' ? 'Your session has ended: sign in again.' : null;
    this.views.send(res, 'login', { title: 'Sign in', error: null, notice: ended }, null);
  }

  /** Rate-limited per client address (console.module.ts): wrong keys past 10 a minute are 429. */
  @Post('login')
  @UseGuards(SchemaReadyGuard)
  async signIn(@Req() req: Request, @Res() res: Response): Promise<void> {
    const key = (await readForm(req)).get('key')?.trim() ?? '';
    const actor = key ? this.keys.match(key) : null;
    if (!actor) {
      return this.views.send(
        res,
        'login',
        { title: 'Sign in', error: 'That key is not an admin key of this service.' },
        null,
        401,
      );
    }
    setSessionCookie(req, res, await this.sessions.open(actor), this.config.sessionMinutes);
    res.redirect(303, '/console');
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() res: Response): void {
    const file = Object.hasOwn(this.views.assets.files, name) ? this.views.assets.files[name] : undefined;
    if (!file) throw new NotFoundException(`no console asset ${name}`);
    res.type(file.type).setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.send(file.body);
  }
}
