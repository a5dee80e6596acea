// pulse.js, the tracker sites load (tracker/src), built as one minified
// IIFE next to the dashboard's build in ui/dist, which the Go binary
// embeds and serves at --tracker-path. `npm run build` runs it after the
// dashboard's build, which empties ui/dist first.
import { defineConfig } from 'vite'

export default defineConfig({
  build: {
    outDir: 'ui/dist',
    emptyOutDir: false,
    copyPublicDir: false,
    target: 'es2020',
    minify: true,
    lib: {
      entry: 'tracker/src/pulse.ts',
      formats: ['iife'],
      name: 'pulseTracker',
      fileName: () => 'pulse.js',
    },
  },
})
