import { loadStackConfig } from '../../../../infra/config';
import { gatewayConfig, MAX_INSTANCES, renderTemplate } from '../../../../infra/gateway/nginx';

describe('renderTemplate', () => {
  it('fills every placeholder', () => {
    expect(renderTemplate('listen {{PORT}}; x {{PORT}} {{NAME}}', { PORT: 80, NAME: 'a' })).toBe('listen 80; x 80 a');
  });

  it('refuses a placeholder it has no value for', () => {
    expect(() => renderTemplate('listen {{PORT}};', {})).toThrow('no value for {{PORT}}');
  });
});

describe('gatewayConfig', () => {
  it('spreads the API over every instance the stack may scale to, and listens on the gateway port', () => {
    const config = loadStackConfig({ SHOP_INSTANCES: '3', SHOP_GATEWAY_PORT: '8123', SHOP_OFFLINE_HTTP_PORT_BASE: '40000' });

    const rendered = gatewayConfig(config);

    expect(rendered).toContain('listen 127.0.0.1:8123');
    expect(rendered.match(/server 127\.0\.0\.1:\d+ /g)).toEqual(
      Array.from({ length: MAX_INSTANCES }, (_, index) => `server 127.0.0.1:${40000 + index} `),
    );
    expect(rendered).toContain(`proxy_next_upstream_tries ${MAX_INSTANCES};`);
    // The 3 the stack starts with are back within 2 s of a failure; a spare slot, which refuses
    // until `npm run scale` starts an instance in it, is tried once every 10 s.
    const bounds = [...rendered.matchAll(/server 127\.0\.0\.1:\d+ (.*);/g)].map((match) => match[1]);
    expect(bounds).toEqual([
      ...Array.from({ length: 3 }, () => 'max_fails=3 fail_timeout=2s'),
      ...Array.from({ length: MAX_INSTANCES - 3 }, () => 'max_fails=1 fail_timeout=10s'),
    ]);
    for (const prefix of ['/orders/', '/stock/', '/payment/'])
      expect(rendered).toContain(`location ${prefix} { proxy_pass http://functions; }`);
    expect(rendered).not.toMatch(/\{\{\w+\}\}/);
  });
});
