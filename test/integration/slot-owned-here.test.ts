import { SLOT_LOCKS } from '../../layers/db/owned-slots';
import { SLOTTED_SERVICES } from '../../layers/resharding/slot-adoption';
import { scratchDatabases } from './support/scratch-databases';
import type { ShardedService } from '../../layers/config/services';

/**
 * Each service's database has its own `slot_owned_here` (order migration 008, stock and payment
 * 007): a statement that checks a slot with it holds the slot's shared lock, which a move's fence
 * takes exclusively, until its transaction ends. A scratch database of each schema on the
 * service's first server.
 */
const SLOT = 4;
const services = Object.keys(SLOTTED_SERVICES) as ShardedService[];
const databases = new Map(services.map((service) => [service, scratchDatabases(service, ['owned_here'])]));

describe.each(services)('%s', (service) => {
  it('a statement that checks a slot with slot_owned_here holds the lock a fence takes, until its transaction ends', async () => {
    const [sql] = databases.get(service)!();
    await sql!`insert into owned_slots (slot, state, since_version) values (${SLOT}, 'owned', 1)`;
    await sql!.begin(async (tx) => {
      const [row] = await tx<{ owned: boolean }[]>`select slot_owned_here(${SLOT}) as owned`;
      expect(row!.owned).toBe(true);
      const [elsewhere] = await sql!<{ got: boolean }[]>`select pg_try_advisory_xact_lock(${SLOT_LOCKS}, ${SLOT}) as got`;
      expect(elsewhere!.got).toBe(false);
    });
    const [after] = await sql!<{ got: boolean }[]>`select pg_try_advisory_xact_lock(${SLOT_LOCKS}, ${SLOT}) as got`;
    expect(after!.got).toBe(true);
  });
});
