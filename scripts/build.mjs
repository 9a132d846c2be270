#!/usr/bin/env node
/**
 * `npm run build` (also run by `npm ci` through the prepare script): writes dist/.
 *
 * - JavaScript: one esbuild bundle with code splitting (ESM). Entry points: the CLI (dist/cli.js), the framework
 *   (dist/index.js), each source of the registry src/sources/index.ts (dist/sources/<code>.js) and each of its stages
 *   (dist/stages/<stage>.js: exports App and main, and runs main when executed as a script). Shared code goes to
 *   dist/chunks/. Why a bundle and not tsc's one file per module: start-up. Node spends most of a short command's
 *   time loading modules; one bundle loads a few files, and libraries that do not tree-shake as separate packages
 *   (zod/mini, luxon, commander) shrink to what is used. Vendor SDKs and native modules stay external and load through
 *   dynamic import when their driver is chosen.
 * - Declarations: tsc (tsconfig.build.json, emitDeclarationOnly) writes dist/types/ and is the type check; the
 *   declarations of dist/sources/*.js and dist/stages/*.js are written here (dist/types/{sources,stages}/).
 *
 * node scripts/build.mjs [--outdir DIR] [--no-types] [--meta FILE]   (--meta writes esbuild's metafile: which import pulls a
 * module into the start-up path; see test/core/startup.test.ts for the budget)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outdirArg = args.includes("--outdir") ? args[args.indexOf("--outdir") + 1] : undefined;
const outdir = path.resolve(root, outdirArg ?? "dist");
const withTypes = !args.includes("--no-types");
const metaFile = args.includes("--meta") ? path.resolve(args[args.indexOf("--meta") + 1]) : undefined;
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

/**
 * Not bundled: vendor SDKs (loaded by their driver only), native modules and packages that load files of their own
 * at run time. Everything else in `dependencies` is bundled.
 */
const EXTERNAL = [
  "@aws-sdk/*",
  "@supabase/postgrest-js",
  "bindings", // better-sqlite3's addon finder: not used by the bundle (drivers/sqlite-db.ts loads the addon by path)
  "bullmq",
  "ioredis",
  "mssql",
  "pg",
  "soda-js",
  "tedious",
];

/** The lazy imports of a registry file (`name: () => import("./x.js")`), as { name: absolute source path }. */
function registryImports(file) {
  const text = readFileSync(path.join(root, file), "utf8");
  const found = {};
  for (const m of text.matchAll(/["']?([a-z0-9-]+)["']?\s*:\s*\(\)\s*=>\s*import\(\s*["'](\.[^"']+)["']\s*\)/g)) {
    found[m[1]] = path.resolve(root, path.dirname(file), m[2].replace(/\.js$/, ".ts"));
  }
  if (Object.keys(found).length === 0) throw new Error(`build: no lazy imports found in ${file}`);
  return found;
}

const sources = registryImports("src/sources/index.ts");

/** Each source's stage names, from the declarations themselves (loaded through tsx, a development dependency). */
function stageNames() {
  const script = `
    const { sources } = await import(${JSON.stringify(pathToFileURL(path.join(root, "src/sources/index.ts")).href)});
    const { SourceRegistry } = await import(${JSON.stringify(pathToFileURL(path.join(root, "src/support/registry.ts")).href)});
    const registry = new SourceRegistry(sources);
    const out = {};
    for (const code of registry.codes()) out[code] = (await registry.source(code)).stageNames;
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build: listing the stages failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}
const stagesBySource = stageNames();
const stages = Object.entries(stagesBySource).flatMap(([code, names]) => names.map((name) => ({ name, code })));

const entryPoints = {
  cli: path.join(root, "src/cli/index.ts"),
  index: path.join(root, "src/index.ts"),
};
for (const [code, file] of Object.entries(sources)) entryPoints[`sources/${code}`] = file;
for (const { name } of stages) entryPoints[`stages/${name}`] = `stage-script:${name}`;

/** dist/stages/<stage>.js: the stage's App and main from the source registry, and main run when executed as a script. */
const stageScripts = {
  name: "stage-scripts",
  setup(build) {
    build.onResolve({ filter: /^stage-script:/ }, (a) => ({ path: a.path.slice("stage-script:".length), namespace: "stage-script" }));
    build.onLoad({ filter: /.*/, namespace: "stage-script" }, (a) => ({
      contents: [
        `import { sources } from ${JSON.stringify(path.join(root, "src/sources/index.ts"))};`,
        `import { SourceRegistry } from ${JSON.stringify(path.join(root, "src/support/registry.ts"))};`,
        `import { runIfMain } from ${JSON.stringify(path.join(root, "src/cli/script.ts"))};`,
        `const stage = await new SourceRegistry(sources).stage(${JSON.stringify(a.path)});`,
        "export const App = stage.App;",
        "export const main = stage.main;",
        "runIfMain(import.meta.url, main);",
      ].join("\n"),
      resolveDir: root,
      loader: "ts",
    }));
  },
};

/** Declarations of the generated entry points (tsc sees only src/). */
function writeEntryDeclarations(types) {
  mkdirSync(path.join(types, "stages"), { recursive: true });
  mkdirSync(path.join(types, "sources"), { recursive: true });
  for (const { name } of stages) {
    writeFileSync(
      path.join(types, "stages", `${name}.d.ts`),
      'import type { AppClass, MainFn } from "../src/index.js";\nexport declare const App: AppClass;\nexport declare const main: MainFn;\n',
    );
  }
  for (const [code, file] of Object.entries(sources)) {
    const mod = JSON.stringify(`../${path.relative(root, file).replace(/\.ts$/, ".js")}`);
    const text = readFileSync(file, "utf8");
    writeFileSync(path.join(types, "sources", `${code}.d.ts`), `export * from ${mod};\n${/^export default /m.test(text) ? `export { default } from ${mod};\n` : ""}`);
  }
}

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const t0 = Date.now();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  chunkNames: "chunks/[name]-[hash]",
  // Bundled CommonJS packages call require() for Node built-ins. The require of a chunk is made on its first call,
  // not when the chunk loads: a short command loads about 50 chunks and calls require in few of them (createRequire
  // in every one made Node's loader helpers hot enough for the optimising compiler, about 3 MiB of RSS).
  banner: {
    js: 'import { createRequire as __lakeCreateRequire } from "node:module"; let __lakeRequire; const require = (id) => (__lakeRequire ??= __lakeCreateRequire(import.meta.url))(id);',
  },
  define: { LAKE_VERSION: JSON.stringify(pkg.version) },
  plugins: [stageScripts],
  metafile: true,
  write: true,
  logLevel: "warning",
  legalComments: "none",
  // Without whitespace and comments (the bundled packages' JSDoc, some of it non-ASCII, which makes a whole chunk a
  // two-byte string in memory) every process holds about 1.2 MiB less. Stack traces map back to src/ through the
  // linked source maps, which bin/lake.js turns on for --debug (they cost nothing otherwise).
  minifyWhitespace: true,
  sourcemap: "linked",
});
if (metaFile) writeFileSync(metaFile, JSON.stringify(result.metafile));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`build: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB of JavaScript in ${Date.now() - t0} ms`);

if (withTypes) {
  const t1 = Date.now();
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json"), "--outDir", path.join(outdir, "types")],
    { stdio: "inherit" },
  );
  if (tsc.status !== 0) {
    console.error("build: tsc found errors (declarations not complete)");
    process.exit(1);
  }
  writeEntryDeclarations(path.join(outdir, "types"));
  console.log(`build: declarations in ${path.relative(root, path.join(outdir, "types"))} in ${Date.now() - t1} ms`);
}
