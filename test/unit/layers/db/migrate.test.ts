import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrationsOf } from '../../../../layers/db/migrate';
import { MIGRATIONS_ROOT } from '../../../../infra/postgres/migrations';

describe('migrationsOf', () => {
  let root: string;
  const write = (file: string, text = 'select 1') => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };

  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("puts a shared migration among a service's own under the number the service gives it", () => {
    write('stock/001_items.sql');
    write('stock/003_held.sql');
    write('payment/001_users.sql');
    write('shared/participations.sql');
    write('shared.json', JSON.stringify({ participations: { stock: '002', payment: '002' } }));
    expect(migrationsOf(root, 'stock')).toEqual([
      { version: '001_items', file: path.join(root, 'stock/001_items.sql') },
      { version: '002_participations', file: path.join(root, 'shared/participations.sql') },
      { version: '003_held', file: path.join(root, 'stock/003_held.sql') },
    ]);
    expect(migrationsOf(root, 'payment').map(({ version }) => version)).toEqual(['001_users', '002_participations']);
  });

  it('leaves out a shared migration the service does not apply, and files that are not migrations', () => {
    write('order/001_orders.sql');
    write('order/README.md');
    write('shared/participations.sql');
    write('shared.json', JSON.stringify({ participations: { stock: '002' } }));
    expect(migrationsOf(root, 'order').map(({ version }) => version)).toEqual(['001_orders']);
  });

  it('refuses two migrations under one number', () => {
    write('stock/002_held.sql');
    write('shared/participations.sql');
    write('shared.json', JSON.stringify({ participations: { stock: '002' } }));
    expect(() => migrationsOf(root, 'stock')).toThrow('migrations stock/002_held and stock/002_participations share a number');
  });

  it("gives every service of the shop's own set numbers that follow on without a gap", () => {
    for (const service of ['order', 'stock', 'payment', 'probe']) {
      const numbers = migrationsOf(MIGRATIONS_ROOT, service).map(({ version }) => Number(version.slice(0, 3)));
      expect(numbers).toEqual(numbers.map((_, index) => index + 1));
    }
  });
});
