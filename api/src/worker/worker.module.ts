import { Module } from '@nestjs/common';
import { ComplianceModule } from '../compliance/compliance.module';
import { ExemptionsModule } from '../exemptions/exemptions.module';
import { WorkerService } from './worker.service';

@Module({ imports: [ExemptionsModule, ComplianceModule], providers: [WorkerService], exports: [WorkerService] })
export class WorkerModule {}
