#!/usr/bin/env node
// The CLI is TypeScript run through tsx, so the repo needs no build step before `npx ganboard`.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
