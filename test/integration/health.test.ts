import { shop } from './support/shop';

/** GET /health as a load balancer asks it, through the gateway: an instance answers, with no database work. */
it('answers 200 with status ok from an instance, naming it', async () => {
  const reply = await shop.request('GET', '/health', { servedBy: true });
  expect(reply).toEqual({
    status: 200,
    body: { status: 'ok' },
    // serverless-offline's hapi adds the charset, as to every JSON reply of the API.
    contentType: expect.stringMatching(/^application\/json(; charset=utf-8)?$/),
    servedBy: expect.stringMatching(/^[\w.-]+:\d+$/),
  });
});
