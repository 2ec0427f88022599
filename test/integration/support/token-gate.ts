import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpErrorHandler } from '../../../layers/http/error-handler';
import { jsonReply } from '../../../layers/http/reply';
import { tokenAccess } from '../../../layers/http/token-access';

/** A handler behind the live view's token check and nothing else, bundled by esbuild as a function is. */
export const gated = (secretName: string) =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpErrorHandler())
    .use(tokenAccess(secretName))
    .handler(async () => jsonReply(200, { through: true }));
