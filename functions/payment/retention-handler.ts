import { idempotencyRetentionMs, logRetentionMs } from '../../layers/config/retention';
import { serviceConfig } from '../../layers/config/service';
import { retentionHandler } from '../../layers/participant/retention-handler';

const config = serviceConfig();

/** Scheduled: deletes this service's participation records of transactions finished longer ago than the retention window, and its old idempotency keys. */
export const handler = retentionHandler(config.secretPrefix, 'payment', config.shards.payment, {
  retentionMs: logRetentionMs(),
  keyRetentionMs: idempotencyRetentionMs(),
});
