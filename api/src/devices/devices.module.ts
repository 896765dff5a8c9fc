import { Module } from '@nestjs/common';
import { PoliciesModule } from '../policies/policies.module';
import { DesiredStateService } from './desired-state.service';
import { DevicesController } from './devices.controller';
import { DevicesService } from './devices.service';

@Module({ imports: [PoliciesModule], controllers: [DevicesController], providers: [DevicesService, DesiredStateService], exports: [DevicesService, DesiredStateService] })
export class DevicesModule {}
