import { Module } from '@nestjs/common';
import { ExemptionsModule } from '../exemptions/exemptions.module';
import { WorkerService } from './worker.service';

@Module({ imports: [ExemptionsModule], providers: [WorkerService], exports: [WorkerService] })
export class WorkerModule {}
