/**
 * The operator console (`lake serve`): a Hono app over the configured catalog, perfmet, block store, inventory and
 * publisher. Every page has its JSON twin under /api/ (the page is that data rendered). Read-only but for one
 * action: `POST /api/repair` (a day's published rows deleted at the destination and the day published again), which
 * exists only when LAKE_CONSOLE_TOKEN is set and needs the token and a confirmation header on every request; any
 * other method than GET/HEAD is refused. Bound to loopback unless told otherwise; a non-loopback bind needs the
 * token, and then every request must carry it. Query parameters are validated against the lake (known sources and
 * stages, YYYY-MM-DD days): anything else is a 400.
 */
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import * as z from "zod/mini";
import { ConfigError, UsageError } from "../support/errors.js";
import { secretRedactor } from "../util/redact.js";
import { audit, coverageAll, dataWindow, deviceHealth, listBlocks, listRuns, overview, runDetail, type ConsoleEnv } from "./model.js";
import { auditPage, CONSOLE_JS, coveragePage, devicesPage, layout, esc, overviewPage, runPage, runsPage } from "./pages.js";

export const DEFAULT_PORT = 8765;
export const DEFAULT_HOST = "127.0.0.1";
const TOKEN_COOKIE = "lake_console_token";
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface ConsoleOptions {
  /** LAKE_CONSOLE_TOKEN: when set (or required), every request must carry it. */
  token?: string | undefined;
  /** Every request needs the token (non-loopback bind). */
  requireToken?: boolean;
  /** The repair action (with the token only): deletes a day's published rows at the destination and republishes it. */
  repair?: ((source: string, day: string) => Promise<unknown>) | undefined;
}

/** The header a repair request must carry, `repair <source> <day>`: the confirmation, and no cross-site form can send it. */
export const CONFIRM_HEADER = "x-lake-confirm";

/** A 400: a query parameter the console does not accept. */
class BadRequest extends Error {}

const DAY = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/, "a day is YYYY-MM-DD"));
const SLUG = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "letters, digits and '-' only"));

function parseQuery<S extends z.ZodMiniType>(c: Context, schema: S): z.infer<S> {
  // An empty field of a filter form means "any".
  const raw = Object.fromEntries([...new URL(c.req.url).searchParams].filter(([, v]) => v !== ""));
  const r = z.safeParse(schema, raw);
  if (!r.success) throw new BadRequest(r.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
  return r.data;
}

async function chartJs(): Promise<string> {
  const main = createRequire(import.meta.url).resolve("chart.js");
  return readFile(path.join(path.dirname(main), "chart.umd.min.js"), "utf8");
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function consoleApp(env: ConsoleEnv, opts: ConsoleOptions = {}): Hono {
  const token = opts.token;
  if (opts.requireToken && !token) throw new ConfigError("lake serve: a host other than loopback needs LAKE_CONSOLE_TOKEN set (every request must then carry it)");
  if (token) secretRedactor.add(token);
  const app = new Hono();
  const codes = env.registry.codes();

  const sourceParam = z.optional(z.string().check(z.refine((v) => codes.includes(v), `unknown source (known: ${codes.join(", ")})`)));
  const known = async (q: { source?: string | undefined; stage?: string | undefined }) => {
    if (q.stage === undefined) return;
    const code = q.stage.split("-")[0]!;
    const names = codes.includes(code) ? (await env.registry.source(code)).stageNames : [];
    if (!names.includes(q.stage) || (q.source !== undefined && q.source !== code)) throw new BadRequest(`stage: unknown stage "${q.stage}"${q.source ? ` of source ${q.source}` : ""}`);
  };
  const runsQuery = z.strictObject({
    source: sourceParam,
    stage: z.optional(SLUG),
    status: z.optional(z.enum(["succeeded", "failed"])),
    day: z.optional(DAY),
    from: z.optional(DAY),
    to: z.optional(DAY),
    limit: z.optional(z.string().check(z.regex(/^[1-9]\d{0,4}$/, "a whole number from 1 to 99999"))),
  });
  const windowQuery = z.strictObject({ source: sourceParam, from: z.optional(DAY), to: z.optional(DAY) });
  const devicesQuery = z.strictObject({ source: sourceParam, to: z.optional(DAY) });
  const noQuery = z.strictObject({});

  const repairEnabled = Boolean(token && opts.repair);
  const bearerOf = (c: Context) => {
    const header = c.req.header("authorization");
    return header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
  };
  app.use("*", async (c, next) => {
    const isRepair = c.req.method === "POST" && c.req.path === "/api/repair";
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && !isRepair) return c.json({ error: "the console is read-only (but for POST /api/repair)" }, 405);
    if (isRepair) {
      if (!repairEnabled) return c.json({ error: "repair needs the console started with LAKE_CONSOLE_TOKEN set; without it the console cannot change anything" }, 403);
      if (!sameToken(bearerOf(c) ?? getCookie(c, TOKEN_COOKIE), token!)) return c.json({ error: "repair needs the console's token (Authorization: Bearer …, or ?token=… once in the browser)" }, 401);
    }
    if (token && (opts.requireToken || c.req.query("token") !== undefined)) {
      const given = c.req.query("token");
      if (given !== undefined) {
        if (!sameToken(given, token)) return c.json({ error: "wrong token" }, 401);
        // Once in the address bar, then a cookie: the token is not left in the address, history or logs.
        setCookie(c, TOKEN_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/" });
        const u = new URL(c.req.url);
        u.searchParams.delete("token");
        return c.redirect(`${u.pathname}${u.search}`, 303);
      }
      if (!sameToken(bearerOf(c) ?? getCookie(c, TOKEN_COOKIE), token)) return c.json({ error: "this console needs its token (Authorization: Bearer …, or ?token=… once)" }, 401);
    }
    await next();
    c.header("cache-control", "no-store");
    return undefined;
  });

  app.onError((err, c) => {
    const message = secretRedactor.redact((err as Error).message);
    const status = err instanceof BadRequest || err instanceof UsageError ? 400 : 500;
    if (c.req.path.startsWith("/api/")) return c.json({ error: message }, status);
    return c.html(layout(status === 400 ? "Bad request" : "Error", "", `<p>${esc(message)}</p>`), status);
  });

  const json = (c: Context, data: unknown) => c.json(secretRedactor.redactDeep(data));
  const html = (c: Context, page: string) => c.html(secretRedactor.redact(page));

  // ---------------------------------------------------------------- API
  app.get("/api/overview", async (c) => {
    parseQuery(c, noQuery);
    return json(c, await overview(env));
  });
  app.get("/api/runs", async (c) => {
    const q = parseQuery(c, runsQuery);
    await known(q);
    return json(c, { runs: await listRuns(env, { ...q, limit: q.limit ? Number(q.limit) : undefined }), blocks: await listBlocks(env, q) });
  });
  app.get("/api/runs/:id", async (c) => {
    parseQuery(c, noQuery);
    const run = await runDetail(env, c.req.param("id"));
    return run ? json(c, run) : c.json({ error: "no such run" }, 404);
  });
  app.get("/api/coverage", async (c) => json(c, await coverageAll(env, parseQuery(c, windowQuery))));
  app.get("/api/devices", async (c) => json(c, { sources: await deviceHealth(env, parseQuery(c, devicesQuery)) }));
  app.get("/api/audit", async (c) => json(c, { datasets: await audit(env, parseQuery(c, windowQuery)) }));
  const repairBody = z.strictObject({ source: z.string().check(z.refine((v) => codes.includes(v), `unknown source (known: ${codes.join(", ")})`)), day: DAY });
  app.post("/api/repair", async (c) => {
    parseQuery(c, noQuery);
    const r = z.safeParse(repairBody, await c.req.json().catch(() => undefined));
    if (!r.success) throw new BadRequest(`body: ${r.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")} (send {"source": "<code>", "day": "YYYY-MM-DD"})`);
    const expected = `repair ${r.data.source} ${r.data.day}`;
    if (c.req.header(CONFIRM_HEADER) !== expected) throw new BadRequest(`confirm the repair with the header ${CONFIRM_HEADER}: ${expected}`);
    return json(c, await opts.repair!(r.data.source, r.data.day));
  });

  // ---------------------------------------------------------------- pages
  app.get("/", async (c) => {
    parseQuery(c, noQuery);
    return html(c, overviewPage(await overview(env)));
  });
  app.get("/runs", async (c) => {
    const q = parseQuery(c, runsQuery);
    await known(q);
    const stages = (await Promise.all((q.source ? [q.source] : codes).map((s) => env.registry.source(s)))).flatMap((s) => s.stageNames);
    const runs = await listRuns(env, { ...q, limit: q.limit ? Number(q.limit) : undefined });
    return html(c, runsPage(runs, await listBlocks(env, q), q, { sources: codes, stages }));
  });
  app.get("/runs/:id", async (c) => {
    parseQuery(c, noQuery);
    const run = await runDetail(env, c.req.param("id"));
    return run ? html(c, runPage(run)) : c.html(layout("No such run", "/runs", `<p>No run ${esc(c.req.param("id"))}.</p>`), 404);
  });
  app.get("/coverage", async (c) => html(c, coveragePage(await coverageAll(env, parseQuery(c, windowQuery)))));
  app.get("/devices", async (c) => html(c, devicesPage(await deviceHealth(env, parseQuery(c, devicesQuery)))));
  app.get("/audit", async (c) => {
    const q = parseQuery(c, windowQuery);
    const window = q.from && q.to ? { from: q.from, to: q.to } : await dataWindow(env, q.source);
    // The repair button is offered to a request that carries the token (the action needs it).
    const authed = repairEnabled && sameToken(bearerOf(c) ?? getCookie(c, TOKEN_COOKIE), token!);
    return html(c, auditPage(await audit(env, { ...q, ...window }), window, { repair: authed }));
  });

  // ---------------------------------------------------------------- assets
  let chart: Promise<string> | undefined;
  app.get("/assets/chart.js", async (c) => {
    chart ??= chartJs();
    return c.body(await chart, 200, { "content-type": "text/javascript; charset=utf-8" });
  });
  app.get("/assets/console.js", (c) => c.body(CONSOLE_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));
  return app;
}

export interface RunningConsole {
  url: string;
  close(): Promise<void>;
}

/** Serves the console on host:port (port 0 = any free one); resolves once it listens. */
export async function startConsole(
  env: ConsoleEnv,
  opts: { host?: string; port?: number; token?: string | undefined; repair?: ConsoleOptions["repair"] },
): Promise<RunningConsole> {
  const host = opts.host ?? DEFAULT_HOST;
  const app = consoleApp(env, { token: opts.token, requireToken: !isLoopback(host), repair: opts.repair });
  const { serve } = await import("@hono/node-server");
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port: opts.port ?? DEFAULT_PORT }, (info) => {
      const shown = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shown}:${info.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.once("error", (err) => reject(new ConfigError(`lake serve: cannot listen on ${host}:${opts.port ?? DEFAULT_PORT}: ${err.message}`, { cause: err })));
  });
}
