import { Module } from '@nestjs/common';
import { SignatureGuard } from './signature.guard';
import { SignatureMetrics } from './signature.metrics';
import { SpaceSecrets } from './space-secrets';

/** The secrets in force (reloaded while running) and the guard that checks deliveries against them. */
@Module({
  providers: [SpaceSecrets, SignatureMetrics, SignatureGuard],
  exports: [SpaceSecrets, SignatureGuard],
})
export class SignatureModule {}
