import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the API under /ui/ (DESKPLANE_API_UI_DIR); `vite dev` proxies the API routes to
// the local run so the same relative URLs work in both.
const API = process.env.DESKPLANE_API_URL ?? 'http://127.0.0.1:8080';
const apiPaths = ['/auth', '/desktops', '/templates', '/events', '/sessions', '/tenant', '/ops', '/healthz'];

export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 600 },
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: API, changeOrigin: false }])) },
});
