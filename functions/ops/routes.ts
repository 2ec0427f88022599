import { NotFoundError } from '../../layers/errors';
import { idParam } from '../../layers/http/params';
import type { Route } from '../../layers/http/router';
import { findTransaction } from './coordinator-view';
import { PAGE } from './page/page';
import { type OpsDeps, opsSummary } from './summary-reads';

/** The live view (docs/operations.md, "Live view"): the page, its data, and one transaction's detail. */
export const opsRoutes: Readonly<Record<string, Route<OpsDeps>>> = {
  'GET /ops/': async () => ({ body: PAGE, contentType: 'text/html; charset=utf-8' }),

  'GET /ops/summary': async (_, deps) => ({ body: await opsSummary(deps) }),

  'GET /ops/transactions/{txn_id}': async (params, { orders }) => {
    const txnId = idParam(params, 'txn_id');
    const txn = await findTransaction(orders, txnId);
    if (!txn)
      throw new NotFoundError(`transaction ${txnId} is not in the log: it never was, or it finished longer ago than the retention window`, {
        code: 'transaction_not_found',
      });
    return { body: txn };
  },
};
