import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { WriteKey } from '../db/idempotency';
import { BadRequestError } from '../errors';

/** The longest Idempotency-Key taken: room for a UUID, a hash or a client's own composite key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Visible ASCII only: a key is compared byte for byte, and stored. */
const KEY = /^[\x21-\x7e]+$/;

/**
 * The request's `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header; Stripe's
 * semantics), and the fingerprint of what it asks for: its route and path parameters (the API has
 * no request bodies). The draft sends the key as a structured-field string (`"…"`); a bare token,
 * as Stripe takes it, is taken too. None: undefined, and the request runs as the course's API says.
 */
export function writeKeyOf(event: APIGatewayProxyEventV2): WriteKey | undefined {
  const header = Object.entries(event.headers ?? {}).find(([name]) => name.toLowerCase() === 'idempotency-key')?.[1];
  if (header === undefined) return undefined;
  const quoted = /^"(.*)"$/.exec(header.trim());
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : header.trim();
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !KEY.test(key)) {
    throw new BadRequestError(
      `header Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (a UUID will do), got ${JSON.stringify(header.slice(0, 80))}${header.length > 80 ? '…' : ''}`,
    );
  }
  const parameters = Object.entries(event.pathParameters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const fingerprint = createHash('sha256')
    .update(`${event.routeKey}\n${JSON.stringify(parameters)}`)
    .digest('base64url');
  return { key, fingerprint };
}
