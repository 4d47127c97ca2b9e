import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Metrics } from './metrics.service';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics of this process',
    description:
      'Prometheus text exposition (version 0.0.4) of this process only: scrape every api and worker instance ' +
      'itself, not through the load balancer. Deliveries by result (webhook_deliveries_total), events by ' +
      'outcome (webhook_events_total), publish-confirm and batch timings, storage and sender lag, dependency ' +
      'state (webhook_dependency_up), and the Node.js defaults. The list with meanings is in docs/operations.md ' +
      '("Metrics"); ops/prometheus/alerts.yml alerts on them.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'The metrics, as text.',
    content: {
      'text/plain': {
        schema: { type: 'string' },
        example:
          '# HELP webhook_deliveries_total HTTP deliveries to POST /webhook by result.\n' +
          '# TYPE webhook_deliveries_total counter\n' +
          'webhook_deliveries_total{result="accepted"} 1042\n' +
          'webhook_deliveries_total{result="bad_signature"} 3\n',
      },
    },
  })
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
  }
}
