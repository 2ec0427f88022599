import { loadStackConfig } from '../../../infra/config';
import { gatewayConfig, renderTemplate } from '../../../infra/gateway/nginx';

describe('renderTemplate', () => {
  it('fills every placeholder', () => {
    expect(renderTemplate('listen {{PORT}}; x {{PORT}} {{NAME}}', { PORT: 80, NAME: 'a' })).toBe('listen 80; x 80 a');
  });

  it('refuses a placeholder it has no value for', () => {
    expect(() => renderTemplate('listen {{PORT}};', {})).toThrow('no value for {{PORT}}');
  });
});

describe('gatewayConfig', () => {
  it('spreads the API over every serverless-offline instance and listens on the gateway port', () => {
    const config = loadStackConfig({ SHOP_INSTANCES: '3', SHOP_GATEWAY_PORT: '8123', SHOP_OFFLINE_HTTP_PORT_BASE: '40000' });

    const rendered = gatewayConfig(config);

    expect(rendered).toContain('listen 127.0.0.1:8123');
    expect(rendered.match(/server 127\.0\.0\.1:4000[0-2] /g)).toEqual([
      'server 127.0.0.1:40000 ',
      'server 127.0.0.1:40001 ',
      'server 127.0.0.1:40002 ',
    ]);
    for (const prefix of ['/orders/', '/stock/', '/payment/']) expect(rendered).toContain(`location ${prefix} { proxy_pass http://functions; }`);
    expect(rendered).not.toMatch(/\{\{\w+\}\}/);
  });
});
