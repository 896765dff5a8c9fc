import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { DomainError } from '../../common/domain-error';
import { loadConfig } from '../../config/app-config';
import { resolveDatabase } from '../../database/database-url';
import { runMigrations } from '../../database/data-source';
import { loadPolicyFiles, PolicyFilesInvalid, renderPolicyFiles } from '../as-code/policy-files';
import { renderPlan } from '../plan/plan-builder';
import { Plan } from '../plan/plan.types';
import { PolicyPlanService } from '../policy-plan.service';
import { PolicyStateService } from '../policy-state.service';
import { rolloutRequest } from '../rollout-request';
import { PoliciesCliModule } from './policies-cli.module';

/** Exit codes, like `terraform plan -detailed-exitcode`, so CI can tell the outcomes apart. */
export const EXIT = { ok: 0, error: 1, changes: 2 } as const;

class CliFailure extends Error {}

function progress(steps: number): { step: (label: string) => void; done: () => void } {
  const bar = new SingleBar({ format: '  {bar} {value}/{total} {label}', stream: process.stderr, hideCursor: true, noTTYOutput: false, clearOnComplete: true });
  if (process.stderr.isTTY) bar.start(steps, 0, { label: '' });
  return {
    step: (label) => (process.stderr.isTTY ? bar.increment({ label }) : undefined),
    done: () => (process.stderr.isTTY ? bar.stop() : undefined),
  };
}

async function withServices<T>(run: (services: { plans: PolicyPlanService; state: PolicyStateService; db: DataSource }) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await resolveDatabase(config);
  await runMigrations(database.migrationUrl);
  const app = await NestFactory.createApplicationContext(PoliciesCliModule.forRoot(database.url), { logger: ['error'] });
  try {
    return await run({ plans: app.get(PolicyPlanService), state: app.get(PolicyStateService), db: app.get(DataSource) });
  } finally {
    await app.close();
    await database.embedded?.stop();
  }
}

function load(dir: string) {
  try {
    return loadPolicyFiles(resolve(dir));
  } catch (e) {
    if (e instanceof PolicyFilesInvalid) throw new CliFailure(`Invalid policies (${e.problems.length} problem(s)):\n${e.message}`);
    throw e;
  }
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('policies').description('Policy as code: validate, plan, apply and export the app policies.').option('-d, --dir <dir>', 'policies folder', process.env.POLICIES_DIR ?? 'policies');

  program
    .command('validate')
    .description('Check every policy file against its schema and the baseline; no database needed.')
    .action(() => {
      const state = load(program.opts<{ dir: string }>().dir);
      console.log(`Valid: ${state.catalog.length} apps, national baseline, ${state.ministries.length} ministries.`);
      setExit(EXIT.ok);
    });

  program
    .command('plan')
    .description('Show what applying the files would change, per scope and platform; save the plan for apply.')
    .option('-o, --out <file>', 'where to save the plan (default .plans/<time>.plan.json)')
    .action(async (opts: { out?: string }) => {
      const bar = progress(3);
      const desired = load(program.opts<{ dir: string }>().dir);
      bar.step('files validated');
      const plan = await withServices(async ({ plans }) => {
        bar.step('database read');
        return plans.planDesired(desired);
      });
      bar.step('plan computed');
      bar.done();
      console.log(renderPlan(plan));
      if (!plan.summary.hasChanges) return setExit(EXIT.ok);
      const out = resolve(opts.out ?? join('.plans', `${plan.createdAt.replace(/[:.]/g, '-')}.plan.json`));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify(plan, null, 2));
      console.log(`\nSaved the plan to ${out}\nApply exactly this plan with: npm run policies -- apply ${out}`);
      setExit(EXIT.changes);
    });

  program
    .command('apply <planFile>')
    .description('Apply exactly a saved plan; refused if the database changed since it was made.')
    .option('--stages <percentages>', 'staged rollout, e.g. 1,10,100 (default: all devices at once)')
    .option('--wait-minutes <minutes>', 'wait between stages', '0')
    .action(async (planFile: string, opts: { stages?: string; waitMinutes: string }) => {
      let plan: Plan;
      try {
        plan = JSON.parse(readFileSync(planFile, 'utf8')) as Plan;
      } catch (e) {
        throw new CliFailure(`Cannot read the plan ${planFile}: ${(e as Error).message}`);
      }
      if (typeof plan !== 'object' || plan === null || plan.formatVersion !== 1 || typeof plan.baseFingerprint !== 'string' || !Array.isArray(plan.policies)) {
        throw new CliFailure(`${planFile} is not a plan made by \`npm run policies -- plan\`.`);
      }
      const actor = { id: null, label: `policy-as-code: npm run policies apply (${userInfo().username})` };
      const stages = opts.stages?.split(',').map((p) => Number(p.trim()));
      const rollout = rolloutRequest(stages, opts.stages || Number(opts.waitMinutes) > 0 ? Number(opts.waitMinutes) : undefined);
      const result = await withServices(({ plans }) => plans.apply(actor, plan, rollout));
      for (const a of result.applied) console.log(`Applied ${a.scope}: now version ${a.version}; rollout ${a.rolloutId} (follow it: npm run rollout -- status --watch)`);
      console.log(`Catalog: ${result.catalog.added} added, ${result.catalog.changed} changed, ${result.catalog.removed} removed.`);
      setExit(EXIT.ok);
    });

  program
    .command('export')
    .description("Write the database's catalog, ministries and policies back as YAML files.")
    .option('-o, --out <dir>', 'target folder (default: the policies folder)')
    .action(async (opts: { out?: string }) => {
      const dir = resolve(opts.out ?? program.opts<{ dir: string }>().dir);
      const state = await withServices(({ state, db }) => state.current(db.manager));
      for (const [path, text] of renderPolicyFiles(state)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
        console.log(`wrote ${join(dir, path)}`);
      }
      setExit(EXIT.ok);
    });
  return program;
}

async function main(): Promise<void> {
  let code: number = EXIT.error;
  try {
    await buildProgram((c) => (code = c)).parseAsync(process.argv);
  } catch (e) {
    code = EXIT.error;
    if (e instanceof CliFailure || e instanceof DomainError) console.error(e.message);
    else console.error(e);
  }
  process.exit(code);
}

if (require.main === module) void main();
