import { Module } from '@nestjs/common';
import { DeliveryPublisher } from './delivery.publisher';

@Module({ providers: [DeliveryPublisher], exports: [DeliveryPublisher] })
export class MessagingModule {}
