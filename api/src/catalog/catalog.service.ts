import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AccessService } from '../auth/access.service';
import { actorOf, Principal } from '../auth/principal';
import { validateAgainst } from '../policies/as-code/schema-validator';
import { CatalogApp } from '../policies/policy.types';
import { App } from './app.entity';
import { CatalogError } from './catalog.error';

/** The national app catalog: what an app is on each platform. Owned by national administrators. */
@Injectable()
export class CatalogService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly audit: AuditService,
    private readonly access: AccessService,
  ) {}

  async list(principal: Principal, filter: { category?: string; q?: string }): Promise<CatalogApp[]> {
    this.access.requireAccess(principal, 'catalog.read', null);
    const q = this.db.getRepository(App).createQueryBuilder('a').orderBy('a.slug', 'ASC');
    if (filter.category) q.andWhere('a.category = :c', { c: filter.category });
    if (filter.q) q.andWhere('(a.slug ILIKE :q OR a.name ILIKE :q)', { q: `%${filter.q.replace(/[%_\\]/g, '\\$&')}%` });
    return (await q.getMany()).map((a) => a.toCatalogApp());
  }

  async get(principal: Principal, slug: string): Promise<CatalogApp> {
    this.access.requireAccess(principal, 'catalog.read', null);
    const app = await this.db.getRepository(App).findOneBy({ slug });
    if (!app) throw new CatalogError('unknown-app', 'not-found', `Unknown app "${slug}": it is not in the catalog.`);
    return app.toCatalogApp();
  }

  /** Adds an app. Editing an existing one goes through a policy plan, because phones may change. */
  async create(principal: Principal, body: unknown): Promise<CatalogApp> {
    this.access.requireAccess(principal, 'catalog.write', null);
    const problems = validateAgainst('catalogApp', body);
    if (problems.length > 0) {
      throw new CatalogError(
        'invalid-app',
        'invalid',
        `Invalid app: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        problems,
      );
    }
    const app = body as CatalogApp;
    return this.db.transaction(async (tx) => {
      if (await tx.getRepository(App).existsBy({ slug: app.slug })) {
        throw new CatalogError('app-exists', 'conflict', `An app with slug "${app.slug}" already exists.`);
      }
      await this.assertIdentifiersFree(tx, app);
      await tx.getRepository(App).insert(toEntity(app));
      await this.audit.record(tx, actorOf(principal), {
        action: 'catalog.app-added',
        entityType: 'app',
        entityId: app.slug,
        after: app,
      });
      return app;
    });
  }

  private async assertIdentifiersFree(tx: EntityManager, app: CatalogApp): Promise<void> {
    const clash = await tx
      .getRepository(App)
      .createQueryBuilder('a')
      .where('a.slug <> :slug', { slug: app.slug })
      .andWhere('(a.android_packages && :android OR a.ios_bundle_ids && :ios)', { android: app.android, ios: app.ios })
      .getOne();
    if (clash)
      throw new CatalogError(
        'identifier-taken',
        'conflict',
        `An identifier of "${app.slug}" already belongs to app "${clash.slug}".`,
      );
  }
}

export function toEntity(app: CatalogApp): Partial<App> {
  return {
    slug: app.slug,
    name: app.name,
    category: app.category,
    publisher: app.publisher ?? null,
    androidPackages: app.android,
    iosBundleIds: app.ios,
    webUrl: app.web ?? null,
  };
}
