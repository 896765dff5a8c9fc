import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CoreModule } from '../../core.module';
import { dataSourceOptions } from '../../database/data-source';
import { JobsModule } from '../../jobs/jobs.module';
import { PoliciesModule } from '../policies.module';

/** The policy services without HTTP, for the policy-as-code command line. */
@Module({})
export class PoliciesCliModule {
  static forRoot(databaseUrl: string): DynamicModule {
    return {
      module: PoliciesCliModule,
      imports: [TypeOrmModule.forRoot(dataSourceOptions(databaseUrl)), JobsModule.forRoot({ databaseUrl, worker: false }), CoreModule.forRoot(), PoliciesModule],
    };
  }
}
