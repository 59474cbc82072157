import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `base: './'` makes every asset URL relative, so the built site works from any static host and any
// sub-path (https://host/some/dir/) without rebuilding.
export default defineConfig({
  base: './',
  plugins: [react()],
  server: { port: 5173, host: 'localhost' },
  preview: { port: 4173, host: 'localhost', strictPort: true },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2000 },
  worker: { format: 'es' },
});
