import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { PG_INT_MAX } from '../common/page.query';
import { Principal } from '../auth/principal';
import { diffPolicies, PolicyDiff } from './policy-diff';
import { PolicyStateService } from './policy-state.service';
import { PolicyVersion } from './policy-version.entity';
import { Policy } from './policy.entity';
import { PolicyError } from './policy.error';
import { PolicyContent, scopeMinistry } from './policy.types';

export interface PolicyVersionView {
  scope: string;
  version: number;
  current: boolean;
  mode: string;
  contentHash: string;
  createdBy: string;
  createdAt: Date;
  comment: string | null;
  rolledBackFrom: number | null;
  content?: PolicyContent;
}

/** Reading policies and their history. Changes, rollbacks included, go through PolicyPlanService. */
@Injectable()
export class PoliciesService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly state: PolicyStateService,
    private readonly access: AccessService,
  ) {}

  async list(principal: Principal): Promise<PolicyVersionView[]> {
    const visible = this.access.ministriesWith(principal, 'policy.read');
    const policies = await this.db.getRepository(Policy).find({ order: { scope: 'ASC' } });
    const out: PolicyVersionView[] = [];
    for (const p of policies) {
      const ministry = scopeMinistry(p.scope);
      if (ministry !== null && visible !== null && !visible.includes(ministry)) continue;
      out.push(await this.current(principal, p.scope, false));
    }
    return out;
  }

  async current(principal: Principal, scope: string, withContent = true): Promise<PolicyVersionView> {
    this.access.requireAccess(principal, 'policy.read', scopeMinistry(scope));
    const version = await this.state.currentVersion(this.db.manager, scope);
    if (!version) throw new PolicyError('unknown-scope', 'not-found', `No policy for scope "${scope}".`);
    return view(version, true, withContent);
  }

  async versions(principal: Principal, scope: string): Promise<PolicyVersionView[]> {
    const current = await this.current(principal, scope, false);
    const rows = await this.db.getRepository(PolicyVersion).find({ where: { scope }, order: { version: 'DESC' } });
    return rows.map((v) => view(v, v.version === current.version, false));
  }

  async version(principal: Principal, scope: string, version: number): Promise<PolicyVersionView> {
    const current = await this.current(principal, scope, false);
    return view(await this.find(scope, version), version === current.version, true);
  }

  async diff(principal: Principal, scope: string, from: number, to: number): Promise<PolicyDiff & { scope: string; from: number; to: number }> {
    await this.current(principal, scope, false);
    const [a, b] = await Promise.all([this.find(scope, from), this.find(scope, to)]);
    return { scope, from, to, ...diffPolicies(a.content, b.content) };
  }

  private async find(scope: string, version: number): Promise<PolicyVersion> {
    const row = Number.isInteger(version) && version > 0 && version <= PG_INT_MAX ? await this.db.getRepository(PolicyVersion).findOneBy({ scope, version }) : null;
    if (!row) throw new PolicyError('unknown-version', 'not-found', `Policy "${scope}" has no version ${version}.`);
    return row;
  }
}

function view(v: PolicyVersion, current: boolean, withContent: boolean): PolicyVersionView {
  const out: PolicyVersionView = {
    scope: v.scope,
    version: v.version,
    current,
    mode: v.mode,
    contentHash: v.contentHash,
    createdBy: v.createdBy,
    createdAt: v.createdAt,
    comment: v.comment,
    rolledBackFrom: v.rolledBackFrom,
  };
  if (withContent) out.content = v.content;
  return out;
}
