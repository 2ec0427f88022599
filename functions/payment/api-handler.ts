import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { apiHandler } from '../../layers/http/api-handler';
import { paymentRoutes } from './routes';

const config = serviceConfig();

/** The payment service's HTTP handler: every /payment route of API.md. */
export const handler = apiHandler(paymentRoutes, config.secretPrefix, { payment: config.shards.payment }, (databases) => ({
  payment: required(databases, 'payment'),
}));
