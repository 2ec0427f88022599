import { serviceConfig } from '../../layers/config/service';
import { apiHandler, required } from '../../layers/http/api-handler';
import { paymentRoutes } from './routes';

const config = serviceConfig();

/** The payment service's HTTP handler: every /payment route of API.md. */
export const handler = apiHandler(paymentRoutes, config.secretPrefix, { payment: config.shards.payment }, (databases) => ({
  payment: required(databases, 'payment'),
}));
