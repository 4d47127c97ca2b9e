import { Module } from '@nestjs/common';
import { DeliveryPublisher } from './delivery.publisher';
import { OutboundPublisher } from './outbound.publisher';

/** The api's side of the queue: DeliveryPublisher. */
@Module({ providers: [DeliveryPublisher], exports: [DeliveryPublisher] })
export class MessagingModule {}

/** The worker's publishing connection: dead letters, the feed, replays. */
@Module({ providers: [OutboundPublisher], exports: [OutboundPublisher] })
export class OutboundMessagingModule {}
