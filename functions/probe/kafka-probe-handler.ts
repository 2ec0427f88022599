import { requiredEnv } from '../../layers/config/env';
import { required } from '../../layers/db/middleware';
import { type KafkaBatchResponse, kafkaHandler } from '../../layers/kafka/kafka-handler';

const instance = process.env.SHOP_INSTANCE ?? 'lambda';

/**
 * A Kafka-triggered function that proves the event source: it records every batch exactly as
 * delivered, and throws while a record asks it to (`{"failTimes": n}` fails its first n
 * deliveries), or reports that record failed in a partial batch response (`{"reportFailTimes": n}`;
 * its event has `functionResponseTypes: [ReportBatchItemFailures]`), so tests can watch
 * redelivery and offset commits from outside.
 */
export const handler = kafkaHandler(requiredEnv('SECRET_PREFIX'), { probe: 1 }, async (records, databases, event) => {
  const sql = required(databases, 'probe').at(0);
  let mustFail = false;
  const reported: KafkaBatchResponse['batchItemFailures'][number][] = [];
  for (const record of records) {
    const [{ deliveries }] = await sql<[{ deliveries: number }]>`
      with inserted as (
        insert into deliveries (instance, topic, kafka_partition, kafka_offset, record_key, record_value, event)
        values (${instance}, ${record.topic}, ${record.partition}, ${record.offset}, ${record.key ?? null},
                ${record.value ?? null}, ${sql.json(event as never)})
        returning 1)
      select (select count(*) from deliveries where record_key = ${record.key ?? null})::int + 1 as deliveries`;
    const asked = JSON.parse(record.value ?? '{}') as { failTimes?: unknown; reportFailTimes?: unknown };
    if (deliveries <= Number(asked.failTimes ?? 0)) mustFail = true;
    if (deliveries <= Number(asked.reportFailTimes ?? 0))
      reported.push({ itemIdentifier: { partition: `${record.topic}-${record.partition}`, offset: record.offset } });
  }
  if (mustFail) throw new Error(`kafka-probe: failing this batch on purpose (${records.length} records)`);
  return { batchItemFailures: reported };
});
