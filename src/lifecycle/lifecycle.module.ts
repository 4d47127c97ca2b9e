import { Global, Module } from '@nestjs/common';
import { IntakeActivity } from './intake-activity';
import { Lifecycle } from './lifecycle';

@Global()
@Module({ providers: [Lifecycle, IntakeActivity], exports: [Lifecycle, IntakeActivity] })
export class LifecycleModule {}
