// @middy/core is published as ES modules only; jest runs the tests as CommonJS. esbuild (already
// the functions' bundler) turns its files into CommonJS for the unit tests of the handler chain.
const { transformSync } = require('esbuild');

module.exports = {
  process(source, filename) {
    return { code: transformSync(source, { format: 'cjs', loader: 'js', target: 'node20', sourcefile: filename }).code };
  },
};
