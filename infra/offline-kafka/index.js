'use strict';

/**
 * Entry point Serverless v3 `require`s (it loads plugins as CommonJS). The plugin is TypeScript,
 * so tsx compiles it on load. The namespaced registration confines tsx to this plugin's own
 * module tree instead of changing how every later `require` in the process resolves.
 */
const { register } = require('tsx/cjs/api');

const tsx = register({ namespace: 'offline-kafka' });
const { OfflineKafkaPlugin } = tsx.require('./plugin.ts', __filename);

module.exports = OfflineKafkaPlugin;
