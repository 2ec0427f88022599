'use strict';

/** Serverless v3 loads plugins as CommonJS; tsx compiles the TypeScript plugin on load. */
const { register } = require('tsx/cjs/api');

const tsx = register({ namespace: 'deploy-plugin' });
module.exports = tsx.require('./deploy-plugin.ts', __filename).DeployPlugin;
