import path from "node:path";
import { defineConfig } from "drizzle-kit";

// drizzle-kit loads this file as CommonJS, so __dirname is defined. Paths are made relative to the
// working directory because drizzle-kit mangles absolute `out` paths ("./" + out) once snapshots exist;
// this way `drizzle-kit generate --config packages/db/drizzle.config.ts` works from any directory.
const fromCwd = (p: string) => path.relative(process.cwd(), path.join(__dirname, p)) || ".";

export default defineConfig({
  dialect: "postgresql",
  schema: fromCwd("src/schema.ts"),
  out: fromCwd("../../drizzle"),
  strict: true,
  verbose: true,
});
