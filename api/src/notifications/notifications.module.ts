import { DynamicModule, Global, Module } from '@nestjs/common';
import { createMailer, MAILER } from './mailer';
import { PUBLIC_URL } from './notifications.service';
import { NotificationsController } from './notifications.controller';
import { NotificationsService } from './notifications.service';

@Global()
@Module({})
export class NotificationsModule {
  static forRoot(options: { smtpUrl?: string; mailFrom: string; publicUrl: string }): DynamicModule {
    return {
      module: NotificationsModule,
      controllers: [NotificationsController],
      providers: [
        NotificationsService,
        { provide: MAILER, useFactory: () => createMailer(options.smtpUrl, options.mailFrom) },
        { provide: PUBLIC_URL, useValue: options.publicUrl.replace(/\/$/, '') },
      ],
      exports: [NotificationsService],
    };
  }
}
