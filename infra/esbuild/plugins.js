// esbuild plugins of the functions' bundles (serverless.yml custom.esbuild.plugins).
const path = require('node:path');
const esbuild = require('esbuild');

const PREFIX = 'browser-bundle:';

/**
 * `import app from 'browser-bundle:./page/app.ts'` gives the function the browser bundle of that
 * entry (its imports, CSS as text, minified) as a string, so a function can serve a page that
 * loads nothing from anywhere else. A change to any file of the page rebuilds the function.
 */
const browserBundle = {
  name: 'browser-bundle',
  setup(build) {
    build.onResolve({ filter: /^browser-bundle:/ }, (args) => ({
      path: path.resolve(args.resolveDir, args.path.slice(PREFIX.length)),
      namespace: 'browser-bundle',
    }));
    build.onLoad({ filter: /.*/, namespace: 'browser-bundle' }, async (args) => {
      const result = await esbuild.build({
        entryPoints: [args.path],
        bundle: true,
        write: false,
        minify: true,
        format: 'iife',
        platform: 'browser',
        target: 'es2020',
        loader: { '.css': 'text' },
        metafile: true,
      });
      return {
        contents: result.outputFiles[0].text,
        loader: 'text',
        watchFiles: Object.keys(result.metafile.inputs).map((input) => path.resolve(input)),
      };
    });
  },
};

module.exports = [browserBundle];
