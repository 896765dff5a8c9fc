import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { AppCategory, CatalogApp } from '../policies/policy.types';

@Entity('app')
export class App {
  @PrimaryColumn('text')
  slug: string;

  @Column('text')
  name: string;

  @Column('text')
  category: AppCategory;

  @Column({ type: 'text', nullable: true })
  publisher: string | null;

  @Column({ name: 'android_packages', type: 'text', array: true, default: () => "'{}'" })
  androidPackages: string[];

  @Column({ name: 'ios_bundle_ids', type: 'text', array: true, default: () => "'{}'" })
  iosBundleIds: string[];

  @Column({ name: 'web_url', type: 'text', nullable: true })
  webUrl: string | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  toCatalogApp(): CatalogApp {
    const app: CatalogApp = {
      slug: this.slug,
      name: this.name,
      category: this.category,
      android: this.androidPackages,
      ios: this.iosBundleIds,
    };
    if (this.publisher) app.publisher = this.publisher;
    if (this.webUrl) app.web = this.webUrl;
    return app;
  }
}
