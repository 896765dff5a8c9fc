import { Module } from '@nestjs/common';
import { EffectivePolicyService } from './effective-policy.service';
import { PoliciesController } from './policies.controller';
import { PoliciesService } from './policies.service';
import { PolicyPlanService } from './policy-plan.service';
import { PolicyStateService } from './policy-state.service';
import { PolicyVersionWriter } from './policy-version-writer.service';

@Module({
  controllers: [PoliciesController],
  providers: [PoliciesService, PolicyPlanService, PolicyStateService, PolicyVersionWriter, EffectivePolicyService],
  exports: [PolicyPlanService, PolicyStateService, EffectivePolicyService],
})
export class PoliciesModule {}
