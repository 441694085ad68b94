import { defineConfig } from "vite";

// Plain Vite: Preact's JSX through the TypeScript settings (tsconfig.json: jsxImportSource).
export default defineConfig({
  base: "./",
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 2000 },
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
});
