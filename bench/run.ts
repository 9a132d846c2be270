/**
 * `npm run bench [-- name ...]`: runs every bench/<name>.bench.ts (or the named ones) and prints their figures.
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const modules = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.replace(/\.bench\.ts$/, ""))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

for (const name of modules) {
  process.stdout.write(`\n=== ${name} ===\n`);
  const mod = (await import(pathToFileURL(path.join(here, `${name}.bench.ts`)).href)) as { run: () => Promise<void> };
  const t0 = performance.now();
  await mod.run();
  process.stdout.write(`(${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
