import { MigrationInterface, QueryRunner } from 'typeorm';

// The folding of api/src/common/keyset-cursor.ts foldedSql: an expression index serves only the same expression.
const fold = (expr: string) =>
  `translate(lower(${expr}), 'àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ', 'aaaaaaceeeeiiiinooooouuuuyyoa')`;

/** The device columns the IT search looks in, besides the name (ListSearchIndexes has that one). */
const COLUMNS = ['model', 'android_device_name', 'apple_udid', 'apple_identity_serial'] as const;

/**
 * The IT devices search (GET /ministries/{code}/devices?q=) looks for a fragment in the name, model,
 * Android name, UDID and serial: with a trigram index on each, PostgreSQL answers the OR of them as
 * one bitmap of index hits, where a single column without one made it read the whole ministry.
 */
export class DeviceSearchIndexes1796101400000 implements MigrationInterface {
  name = 'DeviceSearchIndexes1796101400000';

  async up(q: QueryRunner): Promise<void> {
    for (const column of COLUMNS)
      await q.query(`CREATE INDEX device_${column}_trgm_idx ON device USING gin ((${fold(column)}) gin_trgm_ops)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const column of COLUMNS) await q.query(`DROP INDEX device_${column}_trgm_idx`);
  }
}
