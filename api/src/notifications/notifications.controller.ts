import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/public.decorator';
import { Principal } from '../auth/principal';
import { NotificationsService } from './notifications.service';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('me/notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  mine(@CurrentPrincipal() p: Principal, @Query('unread') unread?: string) {
    return this.notifications.mine(p, unread === 'true');
  }

  @Post(':id/read')
  @HttpCode(204)
  read(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.notifications.markRead(p, id);
  }
}
