import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Automated Device Enrollment (Apple Business Manager) and Apps and Books, per ministry:
 * - `abm_server`: the key pair and certificate IT uploads to ABM, the server token ABM returns
 *   (OAuth 1.0a credentials), the device sync cursor and the enrollment profile defined there;
 * - `abm_device`: the ministry's iPhones as ABM lists them, before (and after) their first boot;
 * - `apple_device_serial`: the serial number each enrolled UDID reported (licences go to serials);
 * - `vpp_token`, `vpp_asset`, `vpp_assignment`: the content token, its apps with licence counts,
 *   and the licences this server associated with device serial numbers.
 */
export class AppleAdeVpp1796100600000 implements MigrationInterface {
  name = 'AppleAdeVpp1796100600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE abm_server (
        ministry_code text PRIMARY KEY REFERENCES ministry(code),
        key_pem text NOT NULL,
        cert_pem text NOT NULL,
        cert_created_at timestamptz NOT NULL DEFAULT now(),
        cert_created_by text NOT NULL,
        consumer_key text,
        consumer_secret text,
        access_token text,
        access_secret text,
        access_token_expiry timestamptz,
        server_name text,
        org_name text,
        token_imported_at timestamptz,
        token_imported_by text,
        cursor text,
        cursor_at timestamptz,
        profile_uuid text,
        profile_hash text,
        last_sync_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE abm_device (
        serial_number text PRIMARY KEY,
        ministry_code text NOT NULL REFERENCES ministry(code),
        model text,
        description text,
        color text,
        os text,
        device_family text,
        profile_status text,
        profile_uuid text,
        profile_assigned_at timestamptz,
        assign_result text,
        removed_at timestamptz,
        udid text,
        synced_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX abm_device_ministry_idx ON abm_device (ministry_code, serial_number)`);
    await q.query(`
      CREATE TABLE apple_device_serial (
        udid text PRIMARY KEY,
        serial_number text NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX apple_device_serial_serial_idx ON apple_device_serial (serial_number)`);
    await q.query(`
      CREATE TABLE vpp_token (
        ministry_code text PRIMARY KEY REFERENCES ministry(code),
        stoken text NOT NULL,
        org_name text,
        location_name text,
        expires_at timestamptz NOT NULL,
        imported_at timestamptz NOT NULL DEFAULT now(),
        imported_by text NOT NULL,
        assets_synced_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE vpp_asset (
        ministry_code text NOT NULL REFERENCES ministry(code),
        adam_id text NOT NULL,
        pricing_param text NOT NULL,
        product_type text NOT NULL,
        bundle_id text,
        device_assignable boolean NOT NULL,
        total_count integer NOT NULL,
        assigned_count integer NOT NULL,
        available_count integer NOT NULL,
        synced_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (ministry_code, adam_id)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX vpp_asset_bundle_idx ON vpp_asset (ministry_code, bundle_id) WHERE bundle_id IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE vpp_assignment (
        id bigserial PRIMARY KEY,
        ministry_code text NOT NULL REFERENCES ministry(code),
        adam_id text NOT NULL,
        pricing_param text NOT NULL,
        serial_number text NOT NULL,
        device_id uuid,
        assigned_at timestamptz NOT NULL DEFAULT now(),
        released_at timestamptz
      )`);
    await q.query(
      `CREATE UNIQUE INDEX vpp_assignment_active_idx ON vpp_assignment (ministry_code, adam_id, serial_number) WHERE released_at IS NULL`,
    );
    await q.query(`CREATE INDEX vpp_assignment_device_idx ON vpp_assignment (device_id) WHERE released_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE vpp_assignment, vpp_asset, vpp_token, apple_device_serial, abm_device, abm_server`);
  }
}
