import { ApiProperty } from '@nestjs/swagger';

/* What /admin/destinations answers (DESIGN §13). */

export class DestinationView {
  @ApiProperty({ example: 'crm' }) name: string;
  @ApiProperty({
    example: 'https://crm.example.com/hooks/omnichannel',
    description: 'Without its query string.',
  })
  url: string;
  @ApiProperty({ type: [String], example: ['applied.message.#'] }) filter: string[];
  @ApiProperty({ enum: ['entity', 'none'] }) ordering: string;
  @ApiProperty({
    enum: ['active', 'paused', 'disabled'],
    description: 'paused: by an operator; disabled: it answered 410 (events held until enabled).',
  })
  state: string;
  @ApiProperty({ description: 'Failed 5 times in a row: probed by one request at a time.' })
  circuitOpen: boolean;
  @ApiProperty({ example: 0 }) consecutiveFailures: number;
  @ApiProperty({ description: 'Events owed.', example: 12 }) pending: number;
  @ApiProperty({ description: 'Events given up after maxAgeHours, kept; POST …/retry sends them again.' })
  failed: number;
  @ApiProperty({ description: 'Age of the oldest event owed, in seconds; 0 when none.' })
  oldestPendingSeconds: number;
  @ApiProperty({ type: String, nullable: true, example: 'HTTP 500' }) lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastErrorAt: string | null;
}

export class DestinationList {
  @ApiProperty({ type: [DestinationView] }) items: DestinationView[];
}

export class DestinationActionRequest {
  @ApiProperty({ minLength: 3, example: 'CRM maintenance window until 14:00' }) reason: string;
}

export class DestinationActionResult {
  @ApiProperty({ example: 'crm' }) name: string;
  @ApiProperty({ enum: ['active', 'paused', 'disabled'] }) state: string;
  @ApiProperty({ description: 'Whether anything changed (pausing a paused destination does not).' })
  changed: boolean;
  @ApiProperty({ required: false, description: 'retry: failed events made pending again.' }) retried?: number;
}
