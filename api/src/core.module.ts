import { DynamicModule, Global, Module } from '@nestjs/common';
import { AuditCheckpointsController } from './audit/audit-checkpoints.controller';
import { AuditController } from './audit/audit.controller';
import { AuditSettings } from './audit/audit-keys';
import { AUDIT_SETTINGS, AuditService } from './audit/audit.service';
import { AccessService } from './auth/access.service';
import { auditSettingsFrom, loadConfig } from './config/app-config';

/** Used by every domain: the access check and the audit log. */
@Global()
@Module({})
export class CoreModule {
  /** `audit`: the audit log's keys and checkpoint folder; default AUDIT_KEY_FILE and AUDIT_CHECKPOINT_DIR. */
  static forRoot(audit?: AuditSettings): DynamicModule {
    return {
      module: CoreModule,
      controllers: [AuditController, AuditCheckpointsController],
      providers: [
        AccessService,
        AuditService,
        { provide: AUDIT_SETTINGS, useFactory: () => audit ?? auditSettingsFrom(loadConfig()) },
      ],
      exports: [AccessService, AuditService],
    };
  }
}
