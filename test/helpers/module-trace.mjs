// Preload (node --import ./module-trace.mjs): appends every package the process loads from node_modules (ESM imports
// and CommonJS requires), and every node: built-in that an ES module imports, to the file named by LAKE_MODULE_TRACE,
// one name a line; and every file of the bundle (dist/) it loads as `dist <bytes> <url>`. For the start-up tests.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";

const out = process.env.LAKE_MODULE_TRACE;
if (out) {
  register(
    "data:text/javascript," +
      encodeURIComponent(`
        import { appendFileSync } from "node:fs";
        let out;
        export function initialize(data) { out = data.out; }
        export async function resolve(specifier, context, next) {
          const r = await next(specifier, context);
          const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
          if (m) appendFileSync(out, m[1] + "\\n");
          else if (r.url.startsWith("node:")) appendFileSync(out, r.url + "\\n");
          return r;
        }
        export async function load(url, context, next) {
          const r = await next(url, context);
          if (url.startsWith("file:") && /\\/dist\\/.*\\.js$/.test(url) && r.source != null) appendFileSync(out, "dist " + r.source.length + " " + url + "\\n");
          return r;
        }`),
    { data: { out } },
  );
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const filename = Module._resolveFilename(request, parent, isMain);
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(filename);
    if (m) appendFileSync(out, `${m[1]}\n`);
    return load.apply(this, arguments);
  };
}
