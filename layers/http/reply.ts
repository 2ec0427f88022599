import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Every reply of the API is JSON. */
export function jsonReply(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
