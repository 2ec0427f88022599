'use strict';

/**
 * A container healthcheck: exits 0 when every port given accepts a TCP connection on 127.0.0.1,
 * as the local stack waits for a serverless-offline instance (its HTTP and Lambda ports).
 * Plain JavaScript, so a check every few seconds costs no TypeScript compilation.
 */
const net = require('node:net');

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port: Number(port), host: '127.0.0.1' });
    const settle = (open) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(2000);
    socket.once('connect', () => settle(true));
    socket.once('timeout', () => settle(false));
    socket.once('error', () => settle(false));
  });
}

const ports = process.argv.slice(2);
Promise.all(ports.map(accepts)).then((open) => process.exit(ports.length > 0 && open.every(Boolean) ? 0 : 1));
