import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The built app's Content-Security-Policy, as a <meta> tag (the site is static: no server to send a header).
 * Scripts and workers come from the page's origin only ('wasm-unsafe-eval' lets the tokenizer compile its
 * WebAssembly; no eval of JavaScript); connections go to https (model and adapter hosts) and to the page's own
 * origin, plus http on localhost, which the model loader accepts for a model served from this machine. Styles
 * allow inline attributes (React and uPlot set them); images allow data: and blob: (the favicon, canvases).
 * Not in the dev server: React's fast refresh injects an inline script there.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self' https: http://localhost:* http://127.0.0.1:*",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'twosome-content-security-policy',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY },
        injectTo: 'head-prepend',
      },
    ],
  };
}

// `base: './'` makes every asset URL relative, so the built site works from any static host and any
// sub-path (https://host/some/dir/) without rebuilding.
export default defineConfig({
  base: './',
  plugins: [react(), contentSecurityPolicy()],
  server: { port: 5173, host: 'localhost' },
  // The dev server's dependency scan starts from index.html and does not follow `new Worker(new URL(...))`, so
  // the workers' own dependencies (web-llm, the tokenizers, hyparquet) were found only when a worker imported
  // them on the first load, and bundled in two more optimizer runs while the workers waited. Scanning the
  // workers too bundles every dependency in the first run.
  optimizeDeps: { entries: ['index.html', 'src/worker/*.worker.ts'] },
  preview: { port: 4173, host: 'localhost', strictPort: true },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
});
