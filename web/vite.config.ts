import { defineConfig } from "vite";

// The build is reproducible: file names carry content hashes, and nothing depends on the
// time or the machine, so CI can rebuild and compare with the committed web/dist.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 250,
  },
  esbuild: {
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
  },
});
