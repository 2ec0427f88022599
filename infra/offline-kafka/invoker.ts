/**
 * Invokes a function through serverless-offline's Lambda Invoke endpoint, so the handler runs in
 * serverless-offline's own runner (worker threads, env, timeout) exactly as for any other event.
 */
import http from 'node:http';

/** Runs the function with the event; resolves when the handler succeeded, rejects otherwise. */
export type Invoker = (functionName: string, event: unknown) => Promise<void>;

/** Where serverless-offline's Lambda HTTP server listens. */
export interface LambdaEndpoint {
  readonly host: string;
  readonly port: number;
}

/** A failed invocation: the handler threw or timed out, or the endpoint refused the call. */
export class InvocationError extends Error {
  override readonly name = 'InvocationError';

  constructor(
    message: string,
    /** HTTP status of the reply; undefined when no reply came (connection refused, reset). */
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

const MAX_ERROR_TEXT = 500;

function summarise(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const fields = parsed as Record<string, unknown>;
      const type = fields.errorType ?? fields.Type;
      const message = fields.errorMessage ?? fields.Message;
      if (message !== undefined) return `${type === undefined ? '' : `${String(type)}: `}${String(message)}`;
    }
  } catch {
    // Not JSON (e.g. hapi's plain 500 page): fall through to the raw text.
  }
  return body.length > MAX_ERROR_TEXT ? `${body.slice(0, MAX_ERROR_TEXT)}…` : body;
}

/**
 * Reads serverless-offline's reply (src/lambda/routes/invocations/invocationsRoute.js):
 * - handler threw, rejected or timed out: status 200, header `X-Amz-Function-Error: Unhandled`,
 *   body `{errorMessage, errorType, trace}` (same as AWS's Invoke API);
 * - unknown function / bad invocation type: 404 / 400 with `x-amzn-ErrorType`;
 * - anything else serverless-offline did not foresee (e.g. a non-Error thrown) makes hapi answer 500.
 * Only a 200 without either error header is a success.
 */
export function failureOf(statusCode: number, headers: http.IncomingHttpHeaders, body: string): string | undefined {
  const functionError = headers['x-amz-function-error'];
  if (functionError !== undefined) return `${String(functionError)} function error: ${summarise(body)}`;
  const errorType = headers['x-amzn-errortype'];
  if (errorType !== undefined) return `${String(errorType)} (HTTP ${statusCode}): ${summarise(body)}`;
  if (statusCode !== 200) return `HTTP ${statusCode}: ${summarise(body)}`;
  return undefined;
}

/**
 * An invoker posting to `http://<host>:<port>/2015-03-31/functions/<name>/invocations`.
 * node:http rather than fetch: fetch gives up waiting for headers after 300 s, which would
 * re-deliver a batch while the first delivery still runs (long handlers, `--noTimeout`, debugger).
 */
export function createHttpInvoker(endpoint: LambdaEndpoint): Invoker {
  return (functionName, event) =>
    new Promise<void>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(event), 'utf8');
      const request = http.request(
        {
          // No keep-alive: an idle pooled socket would hold up serverless-offline's server shutdown.
          agent: false,
          host: endpoint.host,
          port: endpoint.port,
          method: 'POST',
          path: `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.byteLength,
            'x-amz-invocation-type': 'RequestResponse',
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(new InvocationError(`reply broke off: ${error.message}`, response.statusCode)));
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            const failure = failureOf(status, response.headers, Buffer.concat(chunks).toString('utf8'));
            if (failure === undefined) resolve();
            else reject(new InvocationError(failure, status));
          });
        },
      );
      request.on('error', (error) =>
        reject(new InvocationError(`cannot reach serverless-offline at ${endpoint.host}:${endpoint.port}: ${error.message}`)),
      );
      request.end(payload);
    });
}
