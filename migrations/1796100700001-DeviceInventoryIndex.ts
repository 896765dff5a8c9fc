import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-minute inventory picks the iPhones whose last inventory is oldest (never first): with this
 * index it reads the head of that order instead of sorting the whole fleet every minute. Partial:
 * only iPhones that can be pushed.
 */
export class DeviceInventoryIndex1796100700001 implements MigrationInterface {
  name = 'DeviceInventoryIndex1796100700001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX device_ios_inventory_idx ON device (inventory_at NULLS FIRST, id)
        WHERE platform = 'ios' AND unenrolled_at IS NULL AND apns_token IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX device_ios_inventory_idx`);
  }
}
