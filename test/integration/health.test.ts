import { shop } from './support/shop';

/** GET /health as a load balancer asks it, through the gateway: an instance answers, with no database work. */
it('answers 200 with status ok from an instance, naming it', async () => {
  const reply = await shop.request('GET', '/health', { servedBy: true });
  expect(reply).toEqual({
    status: 200,
    body: { status: 'ok' },
    contentType: 'application/json',
    servedBy: expect.stringMatching(/^[\w.-]+:\d+$/),
  });
});
