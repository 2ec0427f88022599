import { serviceConfig } from '../../layers/config/service';
import { required } from '../../layers/db/middleware';
import { apiHandler } from '../../layers/http/api-handler';
import { stockRoutes } from './routes';

const config = serviceConfig();

/** The stock service's HTTP handler: every /stock route of API.md. */
export const handler = apiHandler(stockRoutes, config.secretPrefix, { stock: config.shards.stock }, (databases) => ({
  stock: required(databases, 'stock'),
}));
