#!/usr/bin/env node
// The `lake` command: runs the compiled bundle in dist/ (`npm run build`; `npm ci` builds it).
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("lake: dist/ is missing; build it with `npm run build` (npm ci runs it)\n");
  process.exit(2);
}
// --debug prints stacks: map them back to src/ (the bundle is whitespace-minified; see scripts/build.mjs).
if (process.argv.includes("--debug")) process.setSourceMapsEnabled(true);
const { runCli } = await import(cli.href);
process.exitCode = await runCli(process.argv.slice(2));
