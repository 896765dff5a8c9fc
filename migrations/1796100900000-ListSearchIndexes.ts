import { MigrationInterface, QueryRunner } from 'typeorm';

// The folding of api/src/common/keyset-cursor.ts foldedSql: an expression index serves only the same expression.
const fold = (expr: string) =>
  `translate(lower(${expr}), 'àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæ', 'aaaaaaceeeeiiiinooooouuuuyyoa')`;

/**
 * The IT devices list and the roles page's agents list page on a keyset, (display_name, id) and
 * (email, id) within a ministry: these indexes read a page from where the last one ended, whatever
 * its number. Their searches look for a fragment anywhere in a name or an address: trigram indexes
 * (pg_trgm, shipped with PostgreSQL) answer those without reading the whole ministry.
 */
export class ListSearchIndexes1796100900000 implements MigrationInterface {
  name = 'ListSearchIndexes1796100900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`CREATE INDEX device_ministry_name_idx ON device (ministry_code, display_name, id)`);
    await q.query(`CREATE INDEX agent_ministry_email_idx ON agent (ministry_code, email, id) WHERE kind = 'person'`);
    await q.query(`CREATE INDEX device_name_trgm_idx ON device USING gin ((${fold('display_name')}) gin_trgm_ops)`);
    await q.query(`CREATE INDEX agent_email_trgm_idx ON agent USING gin ((${fold('email')}) gin_trgm_ops)`);
    await q.query(
      `CREATE INDEX agent_name_trgm_idx ON agent USING gin ((${fold(`given_name || ' ' || usual_name`)}) gin_trgm_ops)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'agent_name_trgm_idx',
      'agent_email_trgm_idx',
      'device_name_trgm_idx',
      'agent_ministry_email_idx',
      'device_ministry_name_idx',
    ])
      await q.query(`DROP INDEX ${index}`);
  }
}
