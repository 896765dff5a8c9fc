import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { AccessService } from './auth/access.service';

/** Used by every domain: the access check and the audit log. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AccessService, AuditService],
  exports: [AccessService, AuditService],
})
export class CoreModule {}
