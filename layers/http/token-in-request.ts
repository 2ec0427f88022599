import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { UnauthorizedError } from '../errors';

/** The cookie that carries the token once a browser has opened the page with it. */
export const TOKEN_COOKIE = 'shop_ops_token';

const sameToken = (given: string, token: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
};

function cookieOf(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const cookies = event.cookies ?? event.headers?.cookie?.split(';') ?? [];
  for (const cookie of cookies) {
    const [key, ...value] = cookie.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** Whether the request offers a token at all (right or wrong). */
export function offersToken(event: APIGatewayProxyEventV2): boolean {
  return (
    /^Bearer ./i.test(event.headers?.authorization ?? '') ||
    cookieOf(event, TOKEN_COOKIE) !== undefined ||
    event.queryStringParameters?.token !== undefined
  );
}

/**
 * Whether a request carries the token: `Authorization: Bearer <token>` (scripts), or the cookie
 * a browser got by opening the page once with `?token=<token>`; that first request is answered
 * with the cookie and a redirect to the same page without the token in its address. Anything
 * else is refused, saying how to get in.
 */
export function accessDecision(event: APIGatewayProxyEventV2, token: string): 'allowed' | APIGatewayProxyStructuredResultV2 {
  const bearer = /^Bearer (.+)$/i.exec(event.headers?.authorization ?? '')?.[1];
  if (bearer !== undefined && sameToken(bearer, token)) return 'allowed';
  const cookie = cookieOf(event, TOKEN_COOKIE);
  if (cookie !== undefined && sameToken(cookie, token)) return 'allowed';
  const offered = event.queryStringParameters?.token;
  if (offered !== undefined && sameToken(offered, token) && event.requestContext?.http?.method === 'GET') {
    return {
      statusCode: 303,
      headers: { location: event.rawPath, 'cache-control': 'no-store' },
      cookies: [`${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/ops/; HttpOnly; Secure; SameSite=Strict; Max-Age=43200`],
      body: '',
    };
  }
  throw new UnauthorizedError(
    bearer || cookie || offered
      ? 'the token given for the live view is not its token (it may have been rotated): ask for the current one'
      : 'the live view needs its token: open /ops/?token=<token> once in the browser, or send Authorization: Bearer <token> (docs/operations.md, "Live view")',
  );
}
