import { Get } from '@nestjs/common';
import { AuditPage } from '../admin.views';
import { AdminController, AdminEndpoint } from '../http/admin.decorators';
import { AdminCursors } from '../http/admin-cursors';
import { PAGE_PARAMS, ValidQuery, type ParsedQuery } from '../http/query-params';
import { AdminAudit } from './admin-audit';

@AdminController('audit')
export class AuditController {
  constructor(
    private readonly audit: AdminAudit,
    private readonly cursors: AdminCursors,
  ) {}

  @Get()
  @AdminEndpoint({
    summary: 'The audit trail: every action taken, newest first',
    query: PAGE_PARAMS,
    answer: AuditPage,
  })
  list(@ValidQuery(PAGE_PARAMS) { limit, cursor }: ParsedQuery<typeof PAGE_PARAMS>): Promise<AuditPage> {
    return this.audit.list(limit, cursor, this.cursors.audit);
  }
}
