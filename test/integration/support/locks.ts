import { connectTo } from './stack';

/**
 * Locks one balance row of a shard with its balance set to 0, uncommitted: a prepare that needs
 * the row waits, and votes no once `letGo` commits. Keeps a checkout undecided for as long as a
 * test needs, with its other participants' reservations held.
 */
export async function lockedEmpty(shard: string, table: 'items' | 'users', id: string) {
  const sql = connectTo(shard);
  const holder = await sql.reserve();
  await holder`begin`;
  await holder.unsafe(
    table === 'items' ? 'update items set stock = 0 where item_id = $1' : 'update users set credit = 0 where user_id = $1',
    [id],
  );
  return {
    async letGo() {
      await holder`commit`;
      holder.release();
      await sql.end({ timeout: 5 });
    },
  };
}
