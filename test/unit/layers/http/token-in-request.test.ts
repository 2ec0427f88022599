import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { UnauthorizedError } from '../../../../layers/errors';
import { accessDecision, TOKEN_COOKIE } from '../../../../layers/http/token-in-request';

const TOKEN = 'c0rrect-t0ken';

const request = (parts: {
  headers?: Record<string, string>;
  cookies?: string[];
  query?: Record<string, string>;
  method?: string;
}): APIGatewayProxyEventV2 =>
  ({
    rawPath: '/ops/',
    headers: parts.headers ?? {},
    ...(parts.cookies ? { cookies: parts.cookies } : {}),
    ...(parts.query ? { queryStringParameters: parts.query } : {}),
    requestContext: { http: { method: parts.method ?? 'GET' } },
  }) as unknown as APIGatewayProxyEventV2;

describe('accessDecision', () => {
  it('lets in a script with the bearer token and a browser with the cookie', () => {
    expect(accessDecision(request({ headers: { authorization: `Bearer ${TOKEN}` } }), TOKEN)).toBe('allowed');
    expect(accessDecision(request({ cookies: ['other=1', `${TOKEN_COOKIE}=${TOKEN}`] }), TOKEN)).toBe('allowed');
    expect(accessDecision(request({ headers: { cookie: `a=b; ${TOKEN_COOKIE}=${TOKEN}` } }), TOKEN)).toBe('allowed');
  });

  it('answers the page opened with ?token= by setting the cookie and sending the browser to the address without it', () => {
    const reply = accessDecision(request({ query: { token: TOKEN } }), TOKEN);
    expect(reply).toMatchObject({ statusCode: 303, headers: { location: '/ops/' } });
    const [cookie] = (reply as { cookies: string[] }).cookies;
    expect(cookie).toContain(`${TOKEN_COOKIE}=${TOKEN}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('Path=/ops/');
  });

  it('refuses with 401 and says how to get in when there is no token', () => {
    expect(() => accessDecision(request({}), TOKEN)).toThrow(UnauthorizedError);
    expect(() => accessDecision(request({}), TOKEN)).toThrow(/open \/ops\/\?token=<token> once/);
  });

  it('refuses a wrong token in any place, saying it is not the token', () => {
    for (const wrong of [
      request({ headers: { authorization: 'Bearer nope' } }),
      request({ cookies: [`${TOKEN_COOKIE}=nope`] }),
      request({ query: { token: 'nope' } }),
      request({ query: { token: TOKEN }, method: 'POST' }),
      request({ headers: { authorization: `Bearer ${TOKEN}x` } }),
    ]) {
      expect(() => accessDecision(wrong, TOKEN)).toThrow(UnauthorizedError);
    }
    expect(() => accessDecision(request({ headers: { authorization: 'Bearer nope' } }), TOKEN)).toThrow(/is not its token/);
  });
});
