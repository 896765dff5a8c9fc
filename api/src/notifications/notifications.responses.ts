import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import { sameShape } from '../openapi/same-shape';
import type { Notification } from './notification.entity';

@ApiSchema({ name: 'Notification', description: 'An in-app notification (each is also sent by email).' })
export class NotificationDto {
  @ApiProperty({ type: 'string', format: 'uuid' })
  id: string;

  @ApiProperty({ type: 'string', format: 'uuid' })
  agentId: string;

  @ApiProperty({ type: 'string', description: 'What it is about (exemption decision, expiry reminder…)' })
  kind: string;

  @ApiProperty({ type: 'string' })
  title: string;

  @ApiProperty({ type: 'string' })
  body: string;

  @ApiProperty({ type: 'string', nullable: true, description: 'Where to act, in the admin interface' })
  link: string | null;

  @ApiProperty({ type: 'string', format: 'date-time' })
  createdAt: Date;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  readAt: Date | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  emailSentAt: Date | null;
}
sameShape<Notification, NotificationDto>();
