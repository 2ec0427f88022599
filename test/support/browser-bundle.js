// Jest does not run esbuild: an import of a browser bundle (infra/esbuild/plugins.js) gets this
// text instead. The real bundle is served by the running stack, and its browser test loads it.
module.exports = '/* the browser bundle is built by esbuild, not under jest */';
