'use strict';

/**
 * Serverless v3 `require`s `${file()}` sources as CommonJS; the resolvers are TypeScript, so tsx
 * compiles them on load, confined to this module tree (as infra/offline-kafka/index.js does).
 */
const { register } = require('tsx/cjs/api');

const tsx = register({ namespace: 'deploy' });
module.exports = tsx.require('./resolvers.ts', __filename);
