import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type postgres from 'postgres';

/** The ordered migration files of one service: `<root>/<service>/NNN_description.sql`. */
export function migrationsOf(root: string, service: string): { version: string; file: string }[] {
  const dir = path.join(root, service);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((file) => /^\d{3}_[\w-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: file.slice(0, -'.sql'.length), file: path.join(dir, file) }));
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
