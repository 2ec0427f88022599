/** The Kafka topics of the system; the local stack creates each at start. */
export const TOPICS = {
  stockInstructions: 'stock-instructions',
  paymentInstructions: 'payment-instructions',
  results: 'transaction-results',
  deadLetters: 'dead-letters',
  probe: 'event-source-probe',
} as const;

/** The topics of a deployed system (stage `aws`): the event-source probe is a local test's only. */
export const DEPLOYED_TOPICS = [TOPICS.stockInstructions, TOPICS.paymentInstructions, TOPICS.results, TOPICS.deadLetters] as const;
