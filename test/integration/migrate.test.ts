import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChangedMigrationError, migrate } from '../../layers/db/migrate';
import { scratchDatabases } from './support/scratch-databases';

// A scratch database of the stock schema; the migrations here are a set of their own, in a folder of their own.
const databases = scratchDatabases('stock', ['migrations']);
const sql = () => databases()[0]!;

describe('migrate', () => {
  let root: string;
  const write = (version: string, text: string) => fs.writeFileSync(path.join(root, 'extra', `${version}.sql`), text);
  const tableExists = async (name: string) => (await sql()`select to_regclass(${name}) is not null as found`)[0]!.found as boolean;

  beforeEach(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    fs.mkdirSync(path.join(root, 'extra'));
    await sql()`drop table if exists extra_a, extra_b`;
    await sql()`delete from schema_migrations where version like '90_\\_extra%'`;
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('applies each migration once and records what it applied', async () => {
    write('901_extra_a', 'create table extra_a (id int)');
    expect(await migrate(sql(), root, 'extra')).toEqual(['901_extra_a']);
    expect(await migrate(sql(), root, 'extra')).toEqual([]);
    const [row] = await sql()`select checksum from schema_migrations where version = '901_extra_a'`;
    expect(row!.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a migration changed since it was applied, and applies nothing after it', async () => {
    write('901_extra_a', 'create table extra_a (id int)');
    await migrate(sql(), root, 'extra');
    write('901_extra_a', 'create table extra_a (id bigint)');
    write('902_extra_b', 'create table extra_b (id int)');
    const run = migrate(sql(), root, 'extra');
    await expect(run).rejects.toThrow(ChangedMigrationError);
    await expect(run).rejects.toThrow(/extra\/901_extra_a has changed since it was applied/);
    expect(await tableExists('extra_b')).toBe(false);
  });

  it('records the checksum of a migration applied before checksums were kept, and holds it to that', async () => {
    write('901_extra_a', 'create table extra_a (id int)');
    await migrate(sql(), root, 'extra');
    await sql()`update schema_migrations set checksum = null where version = '901_extra_a'`;
    expect(await migrate(sql(), root, 'extra')).toEqual([]);
    const [row] = await sql()`select checksum from schema_migrations where version = '901_extra_a'`;
    expect(row!.checksum).toMatch(/^[0-9a-f]{64}$/);
    write('901_extra_a', '-- edited\ncreate table extra_a (id int)');
    await expect(migrate(sql(), root, 'extra')).rejects.toThrow(ChangedMigrationError);
  });
});
