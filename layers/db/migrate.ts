import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type postgres from 'postgres';

/**
 * Migrations that several services apply alike: `<root>/shared/<name>.sql`, listed in
 * `<root>/shared.json` with the number each service applies it under (`{ "<name>": { "<service>": "NNN" } }`).
 * A service records one as `NNN_<name>`, exactly as if the file were in its own folder.
 */
const SHARED = 'shared';

/** The ordered migrations of one service: its own (`<root>/<service>/NNN_name.sql`) and the shared ones it applies. */
export function migrationsOf(root: string, service: string): { version: string; file: string }[] {
  const dir = path.join(root, service);
  const own = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((file) => /^\d{3}_[\w-]+\.sql$/.test(file))
        .map((file) => ({ version: file.slice(0, -'.sql'.length), file: path.join(dir, file) }))
    : [];
  const migrations = [...own, ...sharedMigrationsOf(root, service)].sort((a, b) => a.version.localeCompare(b.version));
  for (const [index, { version }] of migrations.entries()) {
    const previous = migrations[index - 1];
    if (previous && previous.version.slice(0, 3) === version.slice(0, 3))
      throw new Error(`migrations ${service}/${previous.version} and ${service}/${version} share a number: each migration needs its own`);
  }
  return migrations;
}

function sharedMigrationsOf(root: string, service: string): { version: string; file: string }[] {
  const index = path.join(root, `${SHARED}.json`);
  if (!fs.existsSync(index)) return [];
  const numbers = JSON.parse(fs.readFileSync(index, 'utf8')) as Record<string, Record<string, string>>;
  return Object.entries(numbers).flatMap(([name, byService]) => {
    const number = byService[service];
    return number === undefined ? [] : [{ version: `${number}_${name}`, file: path.join(root, SHARED, `${name}.sql`) }];
  });
}

/** An applied migration's file no longer says what was applied. */
export class ChangedMigrationError extends Error {
  override readonly name = 'ChangedMigrationError';
}

const checksumOf = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * Applies the service's migrations not yet recorded, each in its own transaction together with
 * its record (its version and the SHA-256 of its text), so a crash mid-way leaves either all or
 * nothing of a migration. An advisory lock keeps two concurrent starts from applying the same one
 * twice. A recorded migration whose file has changed since stops the run before anything after
 * it is applied: what ran is not what the file says, so a change goes in a new migration. One
 * recorded before checksums were has its checksum recorded as it is now. Returns the versions applied.
 */
export async function migrate(sql: postgres.Sql, root: string, service: string): Promise<string[]> {
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(4242)`;
    await tx`create table if not exists schema_migrations (
      version text primary key,
      applied_at timestamptz not null default now()
    )`;
    await tx`alter table schema_migrations add column if not exists checksum text`;
  });
  for (const { version, file } of migrationsOf(root, service)) {
    const text = fs.readFileSync(file, 'utf8');
    const checksum = checksumOf(text);
    await sql.begin(async (tx) => {
      // A migration may rewrite a large table: the database's own bounds (`bounded_locks`) are for the shop's sessions.
      await tx`select set_config('statement_timeout', '0', true), set_config('lock_timeout', '120s', true)`;
      await tx`select pg_advisory_xact_lock(4242)`;
      const [done] = await tx<{ checksum: string | null }[]>`select checksum from schema_migrations where version = ${version}`;
      if (done?.checksum === null) {
        await tx`update schema_migrations set checksum = ${checksum} where version = ${version}`;
        return;
      }
      if (done && done.checksum !== checksum) {
        throw new ChangedMigrationError(
          `migration ${service}/${version} has changed since it was applied (sha256 ${done.checksum} then, ${checksum} now): put a change in a new migration`,
        );
      }
      if (done) return;
      await tx.unsafe(text);
      await tx`insert into schema_migrations (version, checksum) values (${version}, ${checksum})`;
      applied.push(version);
    });
  }
  return applied;
}
