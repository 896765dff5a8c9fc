import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Principal } from '../auth/principal';
import { stringifyCsv } from '../common/csv';
import { FLEET_SETTINGS, FleetSettings } from '../devices/device-state.service';
import { fleetSql } from '../devices/fleet-sql';
import { osTooOld, Platform, PLATFORMS } from '../devices/platforms';
import { ComplianceReason, ComplianceState } from './compliance-evaluator';
import { countsBy, countsOf, TallyRow } from './compliance-summary';
import {
  BannedAppCountDto,
  BannedAppRankingDto,
  ComplianceDevicePageDto,
  ComplianceExportDto,
  ComplianceTrendDto,
  ExemptionRegisterDto,
  ExportCell,
  ExportDataset,
  MinistryComplianceDto,
  MinistrySummaryDto,
  NationalComplianceDto,
  OsVersionCountDto,
  PlatformCountsDto,
  TrendPointDto,
} from './compliance.dto';
import { ComplianceError } from './compliance.error';

const DEFAULT_TREND_DAYS = 30;
const MAX_TREND_DAYS = 366;
const DRILL_DOWN_STATES: ComplianceState[] = ['non-compliant', 'unknown'];
const TOP_APPS = 10;

interface CountRow {
  ministry_code: string;
  platform: Platform;
  compliance: ComplianceState;
  os_major: string;
  carries_banned: boolean;
  n: string;
}

/** Today in Europe/Paris, YYYY-MM-DD. */
function parisDay(date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(date);
}

/** Local time as French Excel reads it: 2026-12-01 10:05:00 (Europe/Paris). */
export function parisDateTime(date: Date): string {
  return new Intl.DateTimeFormat('sv-SE', {
    timeZone: 'Europe/Paris',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(date);
}

function addDays(day: string, days: number): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function isRealDay(day: string): boolean {
  return new Date(`${day}T12:00:00Z`).toISOString().slice(0, 10) === day;
}

const EXPORT_COLUMNS: Record<ExportDataset, { key: string; label: string }[]> = {
  ministries: [
    { key: 'ministry', label: 'ministère' },
    { key: 'platform', label: 'plateforme' },
    { key: 'state', label: 'état' },
    { key: 'phones', label: 'téléphones' },
    { key: 'withBannedApps', label: 'dont avec une application interdite' },
  ],
  apps: [
    { key: 'ministry', label: 'ministère' },
    { key: 'app', label: 'application' },
    { key: 'appName', label: "nom de l'application" },
    { key: 'platform', label: 'plateforme' },
    { key: 'phones', label: 'téléphones qui la portent' },
  ],
  os: [
    { key: 'ministry', label: 'ministère' },
    { key: 'platform', label: 'plateforme' },
    { key: 'osMajor', label: 'version du système' },
    { key: 'tooOld', label: 'trop ancienne' },
    { key: 'phones', label: 'téléphones' },
  ],
  trend: [
    { key: 'day', label: 'jour' },
    { key: 'ministry', label: 'ministère' },
    { key: 'platform', label: 'plateforme' },
    { key: 'state', label: 'état' },
    { key: 'phones', label: 'téléphones' },
    { key: 'withBannedApps', label: 'dont avec une application interdite' },
  ],
  exemptions: [
    { key: 'ministry', label: 'ministère' },
    { key: 'app', label: 'application' },
    { key: 'appName', label: "nom de l'application" },
    { key: 'active', label: 'dérogations en cours' },
  ],
};

/**
 * The compliance observatory. Every figure is read from the read model (counters kept by the
 * device table's triggers, daily snapshots): no request scans the device table, whatever the
 * fleet's size. National admins see every ministry; a ministry's IT and digital directorate see
 * their own (AccessService, permission `compliance.read`).
 */
@Injectable()
export class ComplianceService {
  private readonly logger = new Logger('Compliance');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly access: AccessService,
    @Inject(FLEET_SETTINGS) private readonly settings: FleetSettings,
  ) {}

  async national(principal: Principal): Promise<NationalComplianceDto> {
    this.access.requireAccess(principal, 'compliance.read', null);
    const [rows, ministries, apps] = await Promise.all([this.tally(null), this.ministryNames(), this.bannedApps(null)]);
    const byMinistry = new Map<string, TallyRow[]>();
    for (const row of rows) byMinistry.set(row.ministry, [...(byMinistry.get(row.ministry) ?? []), row]);
    return {
      generatedAt: new Date(),
      staleAfterDays: this.settings.staleAfterDays,
      totals: countsOf(rows),
      byPlatform: this.byPlatform(rows),
      ministries: [...ministries.entries()].map(([code, name]) => this.summary(code, name, byMinistry.get(code) ?? [])),
      osVersions: this.osVersions(rows),
      bannedApps: apps.slice(0, TOP_APPS),
    };
  }

  async ministry(
    principal: Principal,
    code: string,
    q: { state?: ComplianceState; limit?: number; offset?: number },
  ): Promise<MinistryComplianceDto> {
    this.access.requireAccess(principal, 'compliance.read', code);
    const name = await this.ministryName(code);
    const states = q.state ? [q.state] : DRILL_DOWN_STATES;
    const limit = Math.min(q.limit ?? 50, 500);
    const offset = q.offset ?? 0;
    const [rows, apps, [{ active }], items] = await Promise.all([
      this.tally(code),
      this.bannedApps(code),
      this.db.query(
        `SELECT count(*)::int AS active FROM exemption e WHERE e.ministry_code = $1 AND ${fleetSql.exemptionActive('e')}`,
        [code],
      ) as Promise<{ active: number }[]>,
      this.db.query(
        `SELECT d.id, d.display_name, d.platform, d.model, d.os_version, a.email AS agent_email, d.compliance,
                d.compliance_reason, d.compliance_reasons, d.last_seen_at, d.reported_at
           FROM device d LEFT JOIN agent a ON a.id = d.agent_id
          WHERE d.ministry_code = $1 AND d.compliance = ANY($2) AND ${fleetSql.reachable('d')}
          ORDER BY d.compliance, d.display_name, d.id LIMIT $3 OFFSET $4`,
        [code, states, limit, offset],
      ) as Promise<DeviceRow[]>,
    ]);
    const devices: ComplianceDevicePageDto = {
      states,
      total: rows.filter((r) => states.includes(r.state)).reduce((n, r) => n + r.phones, 0),
      limit,
      offset,
      items: items.map((d) => ({
        id: d.id,
        displayName: d.display_name,
        platform: d.platform,
        model: d.model,
        osVersion: d.os_version,
        agentEmail: d.agent_email,
        compliance: d.compliance,
        complianceReason: d.compliance_reason,
        reasons: d.compliance_reasons,
        lastSeenAt: d.last_seen_at,
        reportedAt: d.reported_at,
      })),
    };
    return {
      ...this.summary(code, name, rows),
      generatedAt: new Date(),
      staleAfterDays: this.settings.staleAfterDays,
      osVersions: this.osVersions(rows),
      bannedApps: apps,
      activeExemptions: active,
      devices,
    };
  }

  /** Banned apps still installed, most phones first, with the ministries that carry them. */
  async apps(principal: Principal, ministry?: string): Promise<BannedAppRankingDto> {
    this.access.requireAccess(principal, 'compliance.read', ministry ?? null);
    if (ministry) await this.ministryName(ministry);
    const rows = (await this.db.query(
      `SELECT c.ministry_code, c.platform, c.app_slug, c.n::int AS n, coalesce(a.name, c.app_slug) AS name
         FROM banned_app_count c LEFT JOIN app a ON a.slug = c.app_slug
        WHERE ($1::text IS NULL OR c.ministry_code = $1)`,
      [ministry ?? null],
    )) as { ministry_code: string; platform: Platform; app_slug: string; n: number; name: string }[];
    const byApp = new Map<string, BannedAppRankingDto['apps'][number]>();
    for (const r of rows) {
      const app = byApp.get(r.app_slug) ?? {
        app: r.app_slug,
        name: r.name,
        phones: 0,
        android: 0,
        ios: 0,
        ministries: [],
      };
      app.phones += r.n;
      app[r.platform] += r.n;
      const m = app.ministries.find((x) => x.ministry === r.ministry_code);
      if (m) m.phones += r.n;
      else app.ministries.push({ ministry: r.ministry_code, phones: r.n });
      byApp.set(r.app_slug, app);
    }
    const apps = [...byApp.values()].sort((a, b) => b.phones - a.phones || a.name.localeCompare(b.name, 'fr'));
    for (const app of apps) app.ministries.sort((a, b) => b.phones - a.phones || a.ministry.localeCompare(b.ministry));
    return { generatedAt: new Date(), ministry: ministry ?? null, apps };
  }

  /** Daily snapshots between two days: every ministry together, then each ministry (or the one asked for). */
  async trend(principal: Principal, q: { from?: string; to?: string; ministry?: string }): Promise<ComplianceTrendDto> {
    this.access.requireAccess(principal, 'compliance.read', q.ministry ?? null);
    const { from, to } = this.period(q);
    const names = await this.ministryNames();
    if (q.ministry && !names.has(q.ministry)) throw this.unknownMinistry(q.ministry);
    const rows = await this.snapshotRows(from, to, q.ministry);
    const points = (list: SnapshotRow[]): TrendPointDto[] =>
      countsBy(list.flatMap(asTally), (r) => r.day).map(({ key, counts }) => ({ day: key, ...counts }));
    const ministries = q.ministry ? [q.ministry] : [...names.keys()];
    return {
      from,
      to,
      ministry: q.ministry ?? null,
      series: [
        ...(q.ministry ? [] : [{ ministry: null, name: 'Ensemble des ministères', points: points(rows) }]),
        ...ministries.map((code) => ({
          ministry: code,
          name: names.get(code) ?? code,
          points: points(rows.filter((r) => r.ministry === code)),
        })),
      ],
    };
  }

  /** The national register of active exemptions, counted (no names): per ministry, per app, and both. */
  async exemptionRegister(principal: Principal): Promise<ExemptionRegisterDto> {
    this.access.requireAccess(principal, 'compliance.read', null);
    const [cells, names] = await Promise.all([this.exemptionCells(null), this.ministryNames()]);
    const byMinistry = new Map<string, number>();
    const byApp = new Map<string, { name: string; active: number }>();
    for (const c of cells) {
      byMinistry.set(c.ministry, (byMinistry.get(c.ministry) ?? 0) + c.active);
      const app = byApp.get(c.app) ?? { name: c.appName, active: 0 };
      app.active += c.active;
      byApp.set(c.app, app);
    }
    return {
      generatedAt: new Date(),
      total: cells.reduce((n, c) => n + c.active, 0),
      byMinistry: [...names.entries()].map(([ministry, name]) => ({
        ministry,
        name,
        active: byMinistry.get(ministry) ?? 0,
      })),
      byApp: [...byApp.entries()]
        .map(([app, v]) => ({ app, name: v.name, active: v.active }))
        .sort((a, b) => b.active - a.active || a.app.localeCompare(b.app)),
      cells: cells.map(({ ministry, app, active }) => ({ ministry, app, active })),
    };
  }

  /** Aggregates as rows, for the CSV and JSON exports: no personal data. */
  async export(
    principal: Principal,
    q: { dataset: ExportDataset; ministry?: string; from?: string; to?: string },
  ): Promise<ComplianceExportDto> {
    this.access.requireAccess(principal, 'compliance.read', q.ministry ?? null);
    if (q.ministry) await this.ministryName(q.ministry);
    const ministry = q.ministry ?? null;
    let rows: Record<string, ExportCell>[];
    switch (q.dataset) {
      case 'ministries': {
        const grouped = new Map<string, Record<string, ExportCell> & { phones: number; withBannedApps: number }>();
        for (const r of await this.tally(ministry)) {
          const key = `${r.ministry}|${r.platform}|${r.state}`;
          const row = grouped.get(key) ?? {
            ministry: r.ministry,
            platform: r.platform,
            state: r.state,
            phones: 0,
            withBannedApps: 0,
          };
          row.phones += r.phones;
          if (r.carriesBanned) row.withBannedApps += r.phones;
          grouped.set(key, row);
        }
        rows = [...grouped.values()];
        break;
      }
      case 'apps':
        rows = (await this.db.query(
          `SELECT c.ministry_code AS ministry, c.app_slug AS app, coalesce(a.name, c.app_slug) AS "appName", c.platform, c.n::int AS phones
             FROM banned_app_count c LEFT JOIN app a ON a.slug = c.app_slug WHERE ($1::text IS NULL OR c.ministry_code = $1)`,
          [ministry],
        )) as Record<string, ExportCell>[];
        break;
      case 'os': {
        const grouped = new Map<string, { ministry: string; platform: Platform; osMajor: string; phones: number }>();
        for (const r of await this.tally(ministry)) {
          const key = `${r.ministry}|${r.platform}|${r.osMajor}`;
          const row = grouped.get(key) ?? { ministry: r.ministry, platform: r.platform, osMajor: r.osMajor, phones: 0 };
          row.phones += r.phones;
          grouped.set(key, row);
        }
        rows = [...grouped.values()].map((r) => ({
          ministry: r.ministry,
          platform: r.platform,
          osMajor: r.osMajor || null,
          tooOld: osTooOld(r.platform, r.osMajor || null) ? 'oui' : 'non',
          phones: r.phones,
        }));
        break;
      }
      case 'trend': {
        const { from, to } = this.period(q);
        rows = (await this.snapshotRows(from, to, q.ministry)).map((r) => ({ ...r }));
        break;
      }
      case 'exemptions':
        rows = (await this.exemptionCells(ministry)).map((c) => ({ ...c }));
        break;
    }
    rows.sort((a, b) =>
      EXPORT_COLUMNS[q.dataset].map(({ key }) => compareCells(a[key], b[key], key)).reduce((acc, c) => acc || c, 0),
    );
    return {
      dataset: q.dataset,
      generatedAt: new Date(),
      ministry,
      columns: EXPORT_COLUMNS[q.dataset].map((c) => c.key),
      rows,
    };
  }

  /**
   * The same export for French Excel: UTF-8 BOM, `;`, decimal comma, local time (Europe/Paris);
   * a text cell that a spreadsheet would read as a formula is neutralised (stringifyCsv).
   */
  async exportCsv(
    principal: Principal,
    q: { dataset: ExportDataset; ministry?: string; from?: string; to?: string },
  ): Promise<{ filename: string; body: string }> {
    const data = await this.export(principal, q);
    const columns = EXPORT_COLUMNS[q.dataset];
    const generated = parisDateTime(data.generatedAt);
    const body = stringifyCsv(
      data.rows.map((row) => [
        ...columns.map(({ key }) => {
          const v = row[key];
          return typeof v === 'number' && !Number.isInteger(v) ? String(v).replace('.', ',') : (v ?? '');
        }),
        generated,
      ]),
      {
        header: true,
        columns: [...columns.map((c) => c.label), 'généré le (heure de Paris)'],
        delimiter: ';',
        record_delimiter: 'windows',
        bom: true,
      },
    );
    const scope = q.ministry ?? 'national';
    return { filename: `conformite-${q.dataset}-${scope}-${parisDay(data.generatedAt)}.csv`, body };
  }

  /**
   * The day's snapshot (Europe/Paris), from the counters: taken at start-up and every night, again
   * the same day replaces the earlier one. Returns the rows written.
   */
  async snapshot(): Promise<number> {
    const started = Date.now();
    const written = await this.db.transaction(async (tx) => {
      const [{ day }] = (await tx.query(`SELECT (now() AT TIME ZONE 'Europe/Paris')::date::text AS day`)) as {
        day: string;
      }[];
      await tx.query(`DELETE FROM compliance_snapshot WHERE day = $1`, [day]);
      await tx.query(`DELETE FROM banned_app_snapshot WHERE day = $1`, [day]);
      const [{ states }] = (await tx.query(
        `WITH written AS (
           INSERT INTO compliance_snapshot (day, ministry_code, platform, compliance, phones, with_banned_apps)
           SELECT $1::date, ministry_code, platform, compliance, sum(n), coalesce(sum(n) FILTER (WHERE carries_banned), 0)
             FROM compliance_count GROUP BY 2, 3, 4 RETURNING 1)
         SELECT count(*)::int AS states FROM written`,
        [day],
      )) as { states: number }[];
      const [{ apps }] = (await tx.query(
        `WITH written AS (
           INSERT INTO banned_app_snapshot (day, ministry_code, platform, app_slug, phones)
           SELECT $1::date, ministry_code, platform, app_slug, n FROM banned_app_count RETURNING 1)
         SELECT count(*)::int AS apps FROM written`,
        [day],
      )) as { apps: number }[];
      return states + apps;
    });
    this.logger.log(`compliance snapshot: ${written} rows in ${Date.now() - started} ms`);
    return written;
  }

  // --- helpers ------------------------------------------------------------------------------------

  private async tally(ministry: string | null): Promise<TallyRow[]> {
    const rows = (await this.db.query(
      `SELECT ministry_code, platform, compliance, os_major, carries_banned, n FROM compliance_count
        WHERE ($1::text IS NULL OR ministry_code = $1)`,
      [ministry],
    )) as CountRow[];
    return rows.map((r) => ({
      ministry: r.ministry_code,
      platform: r.platform,
      state: r.compliance,
      osMajor: r.os_major,
      carriesBanned: r.carries_banned,
      phones: Number(r.n),
    }));
  }

  private summary(code: string, name: string, rows: TallyRow[]): MinistrySummaryDto {
    return { ministry: code, name, totals: countsOf(rows), byPlatform: this.byPlatform(rows) };
  }

  private byPlatform(rows: TallyRow[]): PlatformCountsDto[] {
    return PLATFORMS.map((platform) => ({
      platform,
      ...countsOf(rows.filter((r) => r.platform === platform)),
    }));
  }

  private osVersions(rows: TallyRow[]): OsVersionCountDto[] {
    return countsBy(rows, (r) => `${r.platform}|${r.osMajor}`)
      .map(({ key, counts }) => {
        const [platform, major] = key.split('|') as [Platform, string];
        return { platform, osMajor: major || null, tooOld: osTooOld(platform, major || null), phones: counts.phones };
      })
      .sort(
        (a, b) =>
          a.platform.localeCompare(b.platform) ||
          Number.parseInt(b.osMajor ?? '-1', 10) - Number.parseInt(a.osMajor ?? '-1', 10),
      );
  }

  private async bannedApps(ministry: string | null): Promise<BannedAppCountDto[]> {
    const rows = (await this.db.query(
      `SELECT c.app_slug AS app, coalesce(a.name, c.app_slug) AS name, sum(c.n)::int AS phones,
              coalesce(sum(c.n) FILTER (WHERE c.platform = 'android'), 0)::int AS android,
              coalesce(sum(c.n) FILTER (WHERE c.platform = 'ios'), 0)::int AS ios
         FROM banned_app_count c LEFT JOIN app a ON a.slug = c.app_slug
        WHERE ($1::text IS NULL OR c.ministry_code = $1)
        GROUP BY 1, 2 ORDER BY phones DESC, name`,
      [ministry],
    )) as BannedAppCountDto[];
    return rows;
  }

  private async exemptionCells(
    ministry: string | null,
  ): Promise<{ ministry: string; app: string; appName: string; active: number }[]> {
    return (await this.db.query(
      `SELECT e.ministry_code AS ministry, e.app_slug AS app, coalesce(a.name, e.app_slug) AS "appName", count(*)::int AS active
         FROM exemption e LEFT JOIN app a ON a.slug = e.app_slug
        WHERE ${fleetSql.exemptionActive('e')} AND ($1::text IS NULL OR e.ministry_code = $1)
        GROUP BY 1, 2, 3 ORDER BY 1, 2`,
      [ministry],
    )) as { ministry: string; app: string; appName: string; active: number }[];
  }

  private async snapshotRows(from: string, to: string, ministry?: string): Promise<SnapshotRow[]> {
    const rows = (await this.db.query(
      `SELECT day::text AS day, ministry_code AS ministry, platform, compliance AS state, phones::int AS phones,
              with_banned_apps::int AS "withBannedApps"
         FROM compliance_snapshot WHERE day BETWEEN $1 AND $2 AND ($3::text IS NULL OR ministry_code = $3)
        ORDER BY day, ministry_code, platform, compliance`,
      [from, to, ministry ?? null],
    )) as SnapshotRow[];
    return rows;
  }

  private period(q: { from?: string; to?: string }): { from: string; to: string } {
    const to = q.to ?? parisDay();
    const from = q.from ?? addDays(to, -(DEFAULT_TREND_DAYS - 1));
    for (const [name, day] of [
      ['from', from],
      ['to', to],
    ] as const)
      if (!isRealDay(day))
        throw new ComplianceError('invalid-period', `${name} (${day}) is not a day of the calendar.`);
    if (from > to) throw new ComplianceError('invalid-period', `from (${from}) must not be after to (${to}).`);
    if (from < addDays(to, -(MAX_TREND_DAYS - 1)))
      throw new ComplianceError('invalid-period', `The period may not be longer than ${MAX_TREND_DAYS} days.`);
    return { from, to };
  }

  private async ministryNames(): Promise<Map<string, string>> {
    const rows = (await this.db.query(`SELECT code, name FROM ministry ORDER BY code`)) as {
      code: string;
      name: string;
    }[];
    return new Map(rows.map((r) => [r.code, r.name]));
  }

  private async ministryName(code: string): Promise<string> {
    const [row] = (await this.db.query(`SELECT name FROM ministry WHERE code = $1`, [code])) as { name: string }[];
    if (!row) throw this.unknownMinistry(code);
    return row.name;
  }

  private unknownMinistry(code: string): ComplianceError {
    return new ComplianceError('unknown-ministry', `No ministry with code "${code}".`);
  }
}

interface SnapshotRow {
  day: string;
  ministry: string;
  platform: Platform;
  state: ComplianceState;
  phones: number;
  withBannedApps: number;
}

/** A snapshot row as the two tally rows it adds up (with and without banned apps), for countsOf. */
function asTally(r: SnapshotRow): (TallyRow & { day: string })[] {
  const base = { day: r.day, ministry: r.ministry, platform: r.platform, state: r.state, osMajor: '' };
  return [
    { ...base, carriesBanned: true, phones: r.withBannedApps },
    { ...base, carriesBanned: false, phones: r.phones - r.withBannedApps },
  ];
}

interface DeviceRow {
  id: string;
  display_name: string;
  platform: Platform;
  model: string | null;
  os_version: string | null;
  agent_email: string | null;
  compliance: ComplianceState;
  compliance_reason: string | null;
  compliance_reasons: ComplianceReason[];
  last_seen_at: Date | null;
  reported_at: Date | null;
}

function compareCells(a: ExportCell | undefined, b: ExportCell | undefined, key: string): number {
  if (key === 'phones' || key === 'active' || key === 'withBannedApps') return 0;
  return String(a ?? '').localeCompare(String(b ?? ''), 'fr');
}
