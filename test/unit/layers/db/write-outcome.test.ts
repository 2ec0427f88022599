import type postgres from 'postgres';
import { transactionOrUnknown, writeOrUnknown } from '../../../../layers/db/write-outcome';
import { OutcomeUnknownError, UnavailableError } from '../../../../layers/errors';

/**
 * What a write's reply may claim when its connection is lost: postgres.js's `begin` stands in
 * here as what it does (run the body, then COMMIT), failing where a test says.
 */
const lost = (code: string) => Object.assign(new Error(`write ${code}`), { code });

function database({ atCommit }: { readonly atCommit?: Error }): postgres.Sql {
  return {
    begin: async (body: (tx: unknown) => Promise<unknown>) => {
      const result = await body({});
      if (atCommit) throw atCommit;
      return result;
    },
  } as unknown as postgres.Sql;
}

describe('transactionOrUnknown', () => {
  it('says nothing was written (503) when the connection went before COMMIT was sent: the server rolled it back', async () => {
    const sql = database({});
    const failing = transactionOrUnknown(sql, 'the change of user u', async () => {
      throw lost('CONNECTION_CLOSED');
    });
    await expect(failing).rejects.toBeInstanceOf(UnavailableError);
    await expect(failing).rejects.toThrow('nothing was written');
  });

  it('says the outcome is unknown (502) when the connection went with COMMIT on its way', async () => {
    for (const code of ['CONNECTION_CLOSED', 'ECONNRESET', 'EPIPE', 'CONNECTION_DESTROYED', 'ETIMEDOUT']) {
      const failing = transactionOrUnknown(database({ atCommit: lost(code) }), 'the change of user u', async () => 1);
      await expect(failing).rejects.toBeInstanceOf(OutcomeUnknownError);
    }
  });

  it("passes any other failure on as it is, and the body's result when it commits", async () => {
    const refused = Object.assign(new Error('deadlock'), { code: '40P01' });
    await expect(transactionOrUnknown(database({ atCommit: refused }), 'w', async () => 1)).rejects.toBe(refused);
    expect(await transactionOrUnknown(database({}), 'w', async () => 7)).toBe(7);
  });
});

describe('writeOrUnknown', () => {
  it('says the outcome is unknown when a write that commits on its own lost its connection in flight, and not when it never connected', async () => {
    await expect(writeOrUnknown('w', async () => Promise.reject(lost('ECONNRESET')))).rejects.toBeInstanceOf(OutcomeUnknownError);
    const refused = lost('ECONNREFUSED');
    await expect(writeOrUnknown('w', async () => Promise.reject(refused))).rejects.toBe(refused);
  });
});
