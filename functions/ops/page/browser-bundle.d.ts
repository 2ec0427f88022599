/** A browser bundle built by infra/esbuild/plugins.js, as text. */
declare module 'browser-bundle:*' {
  const source: string;
  export default source;
}

declare module '*.css' {
  const text: string;
  export default text;
}
