/** The Kafka topics of the system; the local stack creates each at start. */
export const TOPICS = {
  stockInstructions: 'stock-instructions',
  paymentInstructions: 'payment-instructions',
  // Instructions a shard could not apply, retried on their own so they hold back no other shard.
  stockRetries: 'stock-instruction-retries',
  paymentRetries: 'payment-instruction-retries',
  results: 'transaction-results',
  deadLetters: 'dead-letters',
  probe: 'event-source-probe',
} as const;

/** The topics of a deployed system (stage `aws`): the event-source probe is a local test's only. */
export const DEPLOYED_TOPICS = [
  TOPICS.stockInstructions,
  TOPICS.paymentInstructions,
  TOPICS.stockRetries,
  TOPICS.paymentRetries,
  TOPICS.results,
  TOPICS.deadLetters,
] as const;
