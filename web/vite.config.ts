import tailwindcss from '@tailwindcss/vite'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The Go server (cmd/pulse serve) answers /api and /ws on port 8000 by
// default; `npm run dev` proxies both so the UI can be edited with hot reload.
const backend = process.env.PULSE_BACKEND ?? '127.0.0.1:8000'

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: {
    // web/embed.go embeds web/ui: the build goes to ui/dist, next to the
    // committed placeholder served before the first build.
    outDir: 'ui/dist',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': { target: `http://${backend}`, changeOrigin: true },
      '/metrics': { target: `http://${backend}`, changeOrigin: true },
      '/ws': { target: `ws://${backend}`, ws: true, changeOrigin: true },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'tracker/src/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
    // A hang detector, not a speed check: make test runs these tests beside
    // the Go and browser suites, which can leave them little CPU.
    testTimeout: 30_000,
  },
})
