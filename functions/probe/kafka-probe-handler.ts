import { requiredEnv } from '../../layers/config/env';
import { required } from '../../layers/db/middleware';
import { kafkaHandler } from '../../layers/kafka/kafka-handler';

const instance = process.env.SHOP_INSTANCE ?? 'lambda';

/**
 * A Kafka-triggered function that proves the event source: it records every batch exactly as
 * delivered, and throws while a record asks it to (`{"failTimes": n}` fails its first n
 * deliveries), so tests can watch redelivery and offset commits from outside.
 */
export const handler = kafkaHandler(requiredEnv('SECRET_PREFIX'), { probe: 1 }, async (records, databases, event) => {
  const sql = required(databases, 'probe').at(0);
  let mustFail = false;
  for (const record of records) {
    const [{ deliveries }] = await sql<[{ deliveries: number }]>`
      with inserted as (
        insert into deliveries (instance, topic, kafka_partition, kafka_offset, record_key, record_value, event)
        values (${instance}, ${record.topic}, ${record.partition}, ${record.offset}, ${record.key ?? null},
                ${record.value ?? null}, ${sql.json(event as never)})
        returning 1)
      select (select count(*) from deliveries where record_key = ${record.key ?? null})::int + 1 as deliveries`;
    const failTimes = Number((JSON.parse(record.value ?? '{}') as { failTimes?: unknown }).failTimes ?? 0);
    if (deliveries <= failTimes) mustFail = true;
  }
  if (mustFail) throw new Error(`kafka-probe: failing this batch on purpose (${records.length} records)`);
});
