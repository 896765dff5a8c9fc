import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { ApiErrors } from '../openapi/api-errors.decorator';
import { NotificationDto } from './notifications.responses';
import { NotificationsService } from './notifications.service';

@ApiTags('notifications')
@ApiBearerAuth()
@ApiErrors('notification')
@Controller('me/notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  @ApiQuery({ name: 'unread', required: false, enum: ['true', 'false'], description: '"true": unread ones only' })
  @ApiOkResponse({ type: [NotificationDto], description: 'The latest 100, newest first' })
  mine(@CurrentPrincipal() p: Principal, @Query('unread') unread?: string): Promise<NotificationDto[]> {
    return this.notifications.mine(p, unread === 'true');
  }

  @Post(':id/read')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Marked read (idempotent)' })
  read(@CurrentPrincipal() p: Principal, @Param('id') id: string): Promise<void> {
    return this.notifications.markRead(p, id);
  }
}
