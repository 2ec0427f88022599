import postgres from 'postgres';
import { everyShardOrNone } from '../../../layers/db/every-shard-or-none';

/**
 * A process that makes one call spanning shards (`everyShardOrNone`), as batch_init does, so that
 * a test can kill it -9 wherever it likes. Its argument, JSON: the shards' logins in shard order
 * and how many rows in all; row "i" goes to shard i mod the shard count, as an item of stock 1.
 */
interface Call {
  readonly shards: readonly { host: string; port: number; username: string; password: string; database: string }[];
  readonly rows: number;
}

const SLICE = 50_000;

async function main(): Promise<void> {
  const call = JSON.parse(process.argv[2]!) as Call;
  const connections = call.shards.map((login) => postgres({ ...login, max: 2, onnotice: () => undefined }));
  await everyShardOrNone(
    connections.map((sql, shard) => {
      const ids = Array.from({ length: call.rows }, (_, row) => String(row)).filter((_, row) => row % connections.length === shard);
      return {
        shard,
        sql,
        check: async () => undefined,
        async write(tx) {
          for (let start = 0; start < ids.length; start += SLICE)
            await tx`
              insert into items (item_id, price, stock, held, slot)
              select id, 1, 1, 0, 0 from unnest(${tx.array(ids.slice(start, start + SLICE))}::text[]) as id
              on conflict (item_id) do update set stock = 1`;
        },
      };
    }),
    (reasons) => reasons.join('; '),
  );
  await Promise.all(connections.map((sql) => sql.end()));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
