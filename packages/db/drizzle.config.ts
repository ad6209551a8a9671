import path from "node:path";
import { defineConfig } from "drizzle-kit";

// drizzle-kit loads this file as CommonJS, so __dirname is defined; resolving from it makes
// `drizzle-kit generate --config packages/db/drizzle.config.ts` work from any working directory.
const here = __dirname;

export default defineConfig({
  dialect: "postgresql",
  schema: path.join(here, "src/schema.ts"),
  out: path.join(here, "../../drizzle"),
  strict: true,
  verbose: true,
});
