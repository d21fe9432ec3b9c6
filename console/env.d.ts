/** esbuild bundles imported CSS into the console's one CSS file. */
declare module '*.css';
