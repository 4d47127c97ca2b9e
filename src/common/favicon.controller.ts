import { Controller, Get, Header, HttpCode, HttpStatus } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * Browsers ask every origin for /favicon.ico. Without this route each visit of the test page, /docs or
 * /health wrote a 404 warning to the log; now it is a 204 (no icon), cached for a day, logged at debug.
 */
@ApiExcludeController()
@Controller('favicon.ico')
export class FaviconController {
  @Get()
  @HttpCode(HttpStatus.NO_CONTENT)
  @Header('Cache-Control', 'public, max-age=86400')
  icon(): void {}
}
