import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * GET /health, for load balancers and uptime checks: 200 whenever the code runs (locally a
 * function instance behind the gateway answered; on AWS, Lambda did). It touches no database,
 * broker or secret, so it says nothing of them and costs nothing of theirs; the live view does
 * (GET /ops/summary).
 */
export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: '{"status":"ok"}',
});
