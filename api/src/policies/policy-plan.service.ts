import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { Actor, actorOf, Principal } from '../auth/principal';
import { App } from '../catalog/app.entity';
import { toEntity } from '../catalog/catalog.service';
import { Ministry } from '../directory/ministry.entity';
import { DesiredState, validateDesiredState } from './as-code/desired-state';
import { parseYaml } from './as-code/policy-files';
import { validateAgainst } from './as-code/schema-validator';
import { buildPlan, CurrentState, renderPlan, stateFingerprint } from './plan/plan-builder';
import { Plan } from './plan/plan.types';
import { PolicyPlan } from './policy-plan.entity';
import { PolicyStateService } from './policy-state.service';
import { PolicyVersionWriter, RolloutRequest } from './policy-version-writer.service';
import { PolicyError } from './policy.error';
import { cleanContent, NATIONAL_SCOPE, PolicyContent, scopeMinistry } from './policy.types';
import { isUuid } from '../common/uuid';
import { contentHash } from '../common/canonical-hash';
import { PG_INT_MAX } from '../common/page.query';
import { PolicyVersion } from './policy-version.entity';

/** Held while a plan is applied, so two applies never interleave. */
const APPLY_LOCK_KEY = 727_274_002;

export interface SavedPlan {
  id: string;
  status: 'planned' | 'applied';
  plan: Plan;
  text: string;
}

export interface ApplyResult {
  applied: { scope: string; version: number; rolloutId: string }[];
  catalog: { added: number; changed: number; removed: number };
}

/** plan → review → apply, for the CLI (whole policy-as-code tree) and the API (one scope). */
@Injectable()
export class PolicyPlanService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly state: PolicyStateService,
    private readonly writer: PolicyVersionWriter,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  /** Plans a whole desired state (policy as code); `scopes` defaults to every scope it names. */
  async planDesired(desired: DesiredState, scopes?: string[]): Promise<Plan> {
    const problems = validateDesiredState(desired);
    if (problems.length > 0) {
      throw new PolicyError('invalid-policies', 'invalid', problems.map((p) => `${p.scope} ${p.path}: ${p.message}`).join('\n'), problems);
    }
    const current = await this.state.current(this.db.manager);
    const fleet = await this.state.fleetGroups(this.db.manager);
    return buildPlan(current, desired, scopes ?? Object.keys(desired.policies), fleet);
  }

  /** API: proposes a new content for one scope; the plan is saved for review and exact apply. */
  async planScope(principal: Principal, scope: string, body: unknown): Promise<SavedPlan> {
    const ministry = scopeMinistry(scope);
    this.access.requireAccess(principal, 'policy.write', ministry);
    const { content, comment } = this.parseContent(scope, body);
    const current = await this.state.current(this.db.manager);
    if (!(scope in current.policies)) throw new PolicyError('unknown-scope', 'not-found', `No policy for scope "${scope}".`);
    const desired: DesiredState = { ...current, policies: { ...current.policies, [scope]: content } };
    const problems = validateDesiredState(desired);
    if (problems.length > 0) {
      const conflict = problems.some((p) => p.message.includes('conflicts with national'));
      throw new PolicyError(conflict ? 'conflicting-rule' : 'invalid-policy', conflict ? 'conflict' : 'invalid', problems.map((p) => p.message).join('\n'), problems);
    }
    return this.save(principal, current, desired, scope, comment ? { comment } : {});
  }

  /**
   * A rollback is a change like any other: a plan (what changes, devices affected) that IT reviews
   * and applies, with stages if it wants; applying it writes a version marked as rolled back from
   * `toVersion`. Refused if that content is already current or now breaks the baseline.
   */
  async planRollback(principal: Principal, scope: string, toVersion: number, comment?: string): Promise<SavedPlan> {
    this.access.requireAccess(principal, 'policy.write', scopeMinistry(scope));
    const target =
      Number.isInteger(toVersion) && toVersion > 0 && toVersion <= PG_INT_MAX
        ? await this.db.getRepository(PolicyVersion).findOneBy({ scope, version: toVersion })
        : null;
    if (!target) throw new PolicyError('unknown-version', 'not-found', `Policy "${scope}" has no version ${toVersion}.`);
    const current = await this.state.current(this.db.manager);
    if (current.versions[scope] === toVersion) {
      throw new PolicyError('already-current', 'conflict', `Version ${toVersion} of "${scope}" is already the current one.`);
    }
    const desired: DesiredState = { ...current, policies: { ...current.policies, [scope]: target.content } };
    const problems = validateDesiredState(desired);
    if (problems.length > 0) {
      throw new PolicyError('conflicting-rule', 'conflict', `Version ${toVersion} cannot be restored as it stands:\n${problems.map((p) => p.message).join('\n')}`, problems);
    }
    return this.save(principal, current, desired, scope, { comment: comment ?? `Rollback to version ${toVersion}`, rolledBackFrom: toVersion });
  }

  private async save(principal: Principal, current: CurrentState, desired: DesiredState, scope: string, extra: Pick<Plan, 'comment' | 'rolledBackFrom'>): Promise<SavedPlan> {
    const plan: Plan = { ...buildPlan(current, desired, [scope], await this.state.fleetGroups(this.db.manager)), ...extra };
    const saved = await this.db.getRepository(PolicyPlan).save({
      createdBy: actorOf(principal).label,
      scopes: plan.scopes,
      baseFingerprint: plan.baseFingerprint,
      plan,
      status: 'planned',
    });
    return { id: saved.id, status: saved.status, plan: saved.plan, text: renderPlan(plan) };
  }

  async getSaved(principal: Principal, id: string): Promise<SavedPlan> {
    const saved = await this.findSaved(this.db.manager, id);
    for (const scope of saved.scopes) this.access.requireAccess(principal, 'policy.read', scopeMinistry(scope));
    return { id: saved.id, status: saved.status, plan: saved.plan, text: renderPlan(saved.plan) };
  }

  async applySaved(principal: Principal, id: string, rollout?: RolloutRequest): Promise<ApplyResult> {
    const saved = await this.findSaved(this.db.manager, id);
    for (const scope of saved.scopes) this.access.requireAccess(principal, 'policy.write', scopeMinistry(scope));
    return this.db.transaction(async (tx) => {
      const locked = await tx.getRepository(PolicyPlan).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (locked?.status === 'applied') {
        throw new PolicyError('plan-already-applied', 'conflict', `This plan was already applied by ${locked.appliedBy} at ${locked.appliedAt?.toISOString()}.`);
      }
      const result = await this.applyIn(tx, actorOf(principal), saved.plan, rollout);
      await tx.getRepository(PolicyPlan).update({ id }, { status: 'applied', appliedAt: new Date(), appliedBy: actorOf(principal).label });
      return result;
    });
  }

  /** CLI: applies exactly a reviewed plan, or refuses it if the database moved since. */
  async apply(actor: Actor, plan: Plan, rollout?: RolloutRequest): Promise<ApplyResult> {
    return this.db.transaction((tx) => this.applyIn(tx, actor, plan, rollout));
  }

  private async applyIn(tx: EntityManager, actor: Actor, plan: Plan, rollout?: RolloutRequest): Promise<ApplyResult> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [APPLY_LOCK_KEY]);
    const current: CurrentState = await this.state.current(tx);
    if (stateFingerprint(current, plan.scopes) !== plan.baseFingerprint) {
      throw new PolicyError(
        'stale-plan',
        'conflict',
        'The plan is stale: the catalog or a policy it covers changed after it was made. Make a new plan, review it, and apply that one.',
      );
    }
    this.assertPlanValid(current, plan);
    const apps = tx.getRepository(App);
    for (const app of plan.catalog.added) {
      await apps.insert(toEntity(app));
      await this.audit.record(tx, actor, { action: 'catalog.app-added', entityType: 'app', entityId: app.slug, after: app });
    }
    for (const { before, after } of plan.catalog.changed) {
      await apps.update({ slug: after.slug }, toEntity(after));
      await this.audit.record(tx, actor, { action: 'catalog.app-changed', entityType: 'app', entityId: after.slug, before, after });
    }
    for (const ministry of plan.ministries.added) {
      await tx.getRepository(Ministry).insert({ code: ministry.code, name: ministry.name, emailDomains: ministry.emailDomains, siret: ministry.siret ?? [] });
      await this.audit.record(tx, actor, { action: 'ministry.added', entityType: 'ministry', entityId: ministry.code, ministry: ministry.code, after: ministry });
    }
    for (const { before, after } of plan.ministries.changed) {
      await tx.getRepository(Ministry).update({ code: after.code }, { name: after.name, emailDomains: after.emailDomains, siret: after.siret ?? [] });
      await this.audit.record(tx, actor, { action: 'ministry.changed', entityType: 'ministry', entityId: after.code, ministry: after.code, before, after });
    }
    const applied: ApplyResult['applied'] = [];
    for (const scope of plan.policies) {
      const rolledBack = plan.rolledBackFrom === undefined ? {} : await this.rollbackMarker(tx, scope.scope, scope.content, plan.rolledBackFrom);
      const version = await this.writer.write(tx, actor, scope.scope, scope.content, { comment: plan.comment, rollout, ...rolledBack });
      applied.push({ scope: scope.scope, version: version.version, rolloutId: version.rolloutId });
    }
    // Removed last: rules that referenced them are gone by now.
    for (const slug of plan.catalog.removed) {
      try {
        await tx.query('SAVEPOINT remove_app');
        await apps.delete({ slug });
        await tx.query('RELEASE SAVEPOINT remove_app');
      } catch (e) {
        if (e instanceof QueryFailedError && (e.driverError as { code?: string }).code === '23503') {
          throw new PolicyError('app-in-use', 'conflict', `App "${slug}" cannot leave the catalog: exemptions still refer to it.`);
        }
        throw e;
      }
      await this.audit.record(tx, actor, { action: 'catalog.app-removed', entityType: 'app', entityId: slug, before: { slug } });
    }
    return { applied, catalog: { added: plan.catalog.added.length, changed: plan.catalog.changed.length, removed: plan.catalog.removed.length } };
  }

  /** A plan file can be edited: it is recorded as a rollback only if it restores exactly that version's content. */
  private async rollbackMarker(tx: EntityManager, scope: string, content: PolicyContent, from: unknown): Promise<{ rolledBackFrom: number; action: string }> {
    const target =
      typeof from === 'number' && Number.isInteger(from) && from > 0 && from <= PG_INT_MAX ? await tx.getRepository(PolicyVersion).findOneBy({ scope, version: from }) : null;
    if (!target || target.contentHash !== contentHash(cleanContent(content))) {
      throw new PolicyError('invalid-plan', 'invalid', `The plan says it restores version ${String(from)} of "${scope}", but its content is not that version's (was it edited?).`);
    }
    return { rolledBackFrom: target.version, action: 'policy.rolled-back' };
  }

  private parseContent(scope: string, raw: unknown): { content: PolicyContent; comment?: string } {
    const body = typeof raw === 'string' ? this.parseYamlBody(scope, raw) : raw;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new PolicyError('invalid-policy', 'invalid', 'The body must be a JSON object: { "mode": "blocklist" | "allowlist", "rules": [...] }.');
    }
    const { comment, ...rest } = body as Record<string, unknown>;
    const problems =
      scope === NATIONAL_SCOPE ? validateAgainst('national', { scope: NATIONAL_SCOPE, ...rest }) : validateAgainst('policyContent', { ...rest, ...(comment === undefined ? {} : { comment }) });
    if (problems.length > 0) {
      throw new PolicyError('invalid-policy', 'invalid', `Invalid policy: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
    }
    const c = rest as unknown as PolicyContent;
    const content: PolicyContent = cleanContent(c);
    return typeof comment === 'string' ? { content, comment } : { content };
  }

  /**
   * A plan file can be edited between `plan` and `apply`: its content is checked again, against
   * the schemas and the baseline, exactly as a fresh plan would be.
   */
  private assertPlanValid(current: CurrentState, plan: Plan): void {
    const problems: string[] = [];
    for (const app of [...plan.catalog.added, ...plan.catalog.changed.map((c) => c.after)]) {
      for (const p of validateAgainst('catalogApp', app)) problems.push(`catalog app ${app.slug}: ${p.path} ${p.message}`);
    }
    for (const scope of plan.policies) {
      const found =
        scope.scope === NATIONAL_SCOPE ? validateAgainst('national', { scope: NATIONAL_SCOPE, ...scope.content }) : validateAgainst('policyContent', scope.content);
      for (const p of found) problems.push(`${scope.scope} ${p.path}: ${p.message}`);
    }
    if (problems.length === 0) {
      const catalog = new Map(current.catalog.map((a) => [a.slug, a]));
      for (const app of plan.catalog.added) catalog.set(app.slug, app);
      for (const { after } of plan.catalog.changed) catalog.set(after.slug, after);
      for (const slug of plan.catalog.removed) catalog.delete(slug);
      const desired: DesiredState = {
        catalog: [...catalog.values()],
        ministries: [...current.ministries, ...plan.ministries.added],
        policies: { ...current.policies, ...Object.fromEntries(plan.policies.map((p) => [p.scope, p.content])) },
      };
      for (const p of validateDesiredState(desired)) problems.push(`${p.scope} ${p.path}: ${p.message}`);
    }
    if (problems.length > 0) {
      throw new PolicyError('invalid-plan', 'invalid', `The plan does not hold valid policies (was it edited?):\n${problems.join('\n')}`, problems);
    }
  }

  private parseYamlBody(scope: string, text: string): unknown {
    const { parsed, problems } = parseYaml(`${scope}.yaml`, text);
    if (!parsed) {
      throw new PolicyError('invalid-yaml', 'invalid', problems.map((p) => `line ${p.line ?? '?'}: ${p.message}`).join('; '), problems);
    }
    return parsed.value;
  }

  private async findSaved(tx: EntityManager, id: string): Promise<PolicyPlan> {
    const saved = isUuid(id) ? await tx.getRepository(PolicyPlan).findOneBy({ id }) : null;
    if (!saved) throw new PolicyError('plan-not-found', 'not-found', `No plan with id "${id}".`);
    return saved;
  }
}
