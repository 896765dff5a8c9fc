import { DynamicModule, Global, Module } from '@nestjs/common';
import { JOB_QUEUE_OPTIONS, JobQueueOptions, JobQueueService } from './job-queue.service';

@Global()
@Module({})
export class JobsModule {
  static forRoot(options: JobQueueOptions): DynamicModule {
    return {
      module: JobsModule,
      providers: [{ provide: JOB_QUEUE_OPTIONS, useValue: options }, JobQueueService],
      exports: [JobQueueService],
    };
  }
}
