import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpErrorHandler } from '../../../layers/http/error-handler';
import { jsonReply } from '../../../layers/http/reply';
import { tokenGate } from '../../../layers/http/token-gate';

/** A handler behind the live view's token check and nothing else, bundled by esbuild as a function is. */
export const gated = (secretName: string) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpErrorHandler())
    .use(tokenGate(secretName))
    .handler(async () => jsonReply(200, { through: true }));
