/** The Kafka topics of the system; the local stack creates each at start. */
export const TOPICS = {
  stockInstructions: 'stock-instructions',
  paymentInstructions: 'payment-instructions',
  results: 'transaction-results',
  deadLetters: 'dead-letters',
  probe: 'event-source-probe',
} as const;
