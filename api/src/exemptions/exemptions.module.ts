import { Module } from '@nestjs/common';
import { PoliciesModule } from '../policies/policies.module';
import { ExemptionSchedulerService } from './exemption-scheduler.service';
import { ExemptionsController } from './exemptions.controller';
import { ExemptionsService } from './exemptions.service';

@Module({
  imports: [PoliciesModule],
  controllers: [ExemptionsController],
  providers: [ExemptionsService, ExemptionSchedulerService],
  exports: [ExemptionsService, ExemptionSchedulerService],
})
export class ExemptionsModule {}
