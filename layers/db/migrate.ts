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

/**
 * Applies the service's migrations not yet recorded, each in its own transaction together with
 * its record, so a crash mid-way leaves either all or nothing of a migration. An advisory lock
 * keeps two concurrent starts from applying the same one twice. Returns the versions applied.
 */
export async function migrate(sql: postgres.Sql, root: string, service: string): Promise<string[]> {
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(4242)`;
    await tx`create table if not exists schema_migrations (
      version text primary key,
      applied_at timestamptz not null default now()
    )`;
  });
  for (const { version, file } of migrationsOf(root, service)) {
    await sql.begin(async (tx) => {
      // A migration may rewrite a large table: the database's own bounds (`bounded_locks`) are for the shop's sessions.
      await tx`select set_config('statement_timeout', '0', true), set_config('lock_timeout', '120s', true)`;
      await tx`select pg_advisory_xact_lock(4242)`;
      const [done] = await tx`select 1 from schema_migrations where version = ${version}`;
      if (done) return;
      await tx.unsafe(fs.readFileSync(file, 'utf8'));
      await tx`insert into schema_migrations (version) values (${version})`;
      applied.push(version);
    });
  }
  return applied;
}
