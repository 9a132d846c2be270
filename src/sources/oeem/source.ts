/**
 * OEEM energy data (seed-systems §1): interval consumption of utility customers' usage points, fetched from an ESPI
 * (Green Button) API into the lake, parsed into the standard intermediate JSON and bulk-loaded into an OEEM
 * datastore. Three decoupled stages, each with its own cadence, linked only by the lake:
 *
 * - fetch  (raw):          customers (auth service) → usage points (ESPI) → one item per (project, usage point),
 *                          from its watermark to the boundary; the probe vetoes a fetch with nothing new; the XML is
 *                          kept as it came, `<project>_<usage point>_<run>.xml`;
 * - parse  (standardized): every raw object without its parsed object → rows per record type (pluggable parser);
 * - upload (ready):        every parsed object without its `uploaded` marker → the datastore, parents first.
 */
import * as z from "zod/mini";
import { bulkUpload, type RecordType, type UploadRow } from "../../support/bulk-upload.js";
import { entityItems, fetchIncrement, type Entity, type EntityItem, type WatermarkPolicy } from "../../support/entities.js";
import { ConfigError, TerminalError } from "../../support/errors.js";
import { httpJson, httpText, type HttpAuth } from "../../support/http.js";
import { defineSource, defineStage, type StageContext } from "../../support/kit.js";
import type { UpdateItem } from "../../support/last-update.js";
import { espiParser, maxReadingEnd, readEspi, readUsagePoints, type Parsed } from "./espi.js";

const endpoint = z.object({ url: z.string(), tokenSecret: z.optional(z.string()) });
const configSchema = z.looseObject({
  /** The Green Button auth service: GET <url>/customers → [{customer_id, project_id, access_token}]. */
  auth: z.optional(endpoint),
  /** The utility's ESPI API and its day: zone, end-of-day time, publication lag, first look-back. */
  espi: z.optional(
    z.object({
      url: z.string(),
      zone: z._default(z.string(), "America/Los_Angeles"),
      endOfDay: z._default(z.string(), "00:00"),
      lagDays: z._default(z.number(), 2),
      lookBackYears: z._default(z.number(), 4),
      probeDays: z._default(z.number(), 3),
      timeoutMs: z._default(z.number(), 60_000),
    }),
  ),
  datastore: z.optional(z.object({ ...endpoint.shape, batchSize: z._default(z.record(z.string(), z.number()), {}) })),
  /** Which parser turns a raw object into rows (PARSERS). */
  parser: z._default(z.string(), "espi"),
});
export type OeemConfig = z.infer<typeof configSchema>;

/** Parsers by name: client code adds its own (bytes + where → rows per record type). */
export const PARSERS: Record<string, (body: Buffer, ctx: { file: string; parts: string[] }) => Parsed> = { espi: espiParser };

/** The datastore's record types: projects, then consumption metadata (per project), then interval records. */
export const RECORD_TYPES: RecordType[] = [
  { name: "project", batchSize: 1000, key: (r) => String(r.project_id) },
  { name: "consumption_metadata", batchSize: 1000, key: (r) => String(r.key), parent: { type: "project", keyField: "project_key", idField: "project" } },
  { name: "consumption_record", batchSize: 2000, parent: { type: "consumption_metadata", keyField: "metadata_key", idField: "metadata" } },
];

interface Customer {
  customer_id: string;
  project_id: string;
  access_token: string;
}
interface Point {
  customer: Customer;
  usagePoint: string;
  kind: number;
}

const need = <T>(v: T | undefined, what: string): T => {
  if (v === undefined) throw new ConfigError(`sources.oeem.${what} is not set (see docs/sources/oeem.md)`);
  return v;
};
const bearer = (ctx: StageContext<OeemConfig>, secret: string | undefined): { auth?: HttpAuth } => {
  const token = secret ? ctx.secret(secret, "the OEEM source") : undefined;
  return token ? { auth: { bearer: token } } : {};
};
const usageUrl = (base: string, p: Point, min: string, max: string) =>
  `${base}/Batch/Subscription/${encodeURIComponent(p.customer.customer_id)}/UsagePoint/${encodeURIComponent(p.usagePoint)}?published-min=${encodeURIComponent(min)}&published-max=${encodeURIComponent(max)}`;

/** Discovery: customers with an active authorisation → their usage points, one entity per (project, usage point). */
async function discover(ctx: StageContext<OeemConfig>): Promise<Entity<Point>[]> {
  const auth = need(ctx.config.auth, "auth");
  const espi = need(ctx.config.espi, "espi");
  const customers = await httpJson<Customer[]>(`${auth.url}/customers`, { ...bearer(ctx, auth.tokenSecret), what: "Green Button auth service: customers" });
  const out: Entity<Point>[] = [];
  for (const customer of customers) {
    const where = `ESPI usage points of customer ${customer.customer_id}`;
    try {
      const url = `${espi.url}/Subscription/${encodeURIComponent(customer.customer_id)}/UsagePoint`;
      const xml = await httpText(url, { auth: { bearer: customer.access_token }, what: where, timeoutMs: espi.timeoutMs });
      for (const up of readUsagePoints(xml, where)) out.push({ parts: [customer.project_id, up.id], payload: { customer, usagePoint: up.id, kind: up.kind } });
    } catch (err) {
      ctx.fail(`customer ${customer.customer_id}`, err); // one customer's trouble does not stop the others
    }
  }
  return out;
}

export default defineSource<OeemConfig>({
  code: "oeem",
  name: "OEEM",
  description: "OEEM energy data: ESPI interval readings per usage point → lake → OEEM datastore",
  config: configSchema,
  stages: [
    defineStage<OeemConfig>({
      kind: "ingest",
      name: "fetch",
      description: "OEEM: ESPI usage per usage point, from its watermark → raw <project>_<usage point>_<run>.xml",
      perfmet: "Ingest",
      to: "raw",
      compareOn: "base",
      window: "all",
      schedule: { at: "04:00", args: ["-r", "0"] },
      async items(ctx) {
        const espi = need(ctx.config.espi, "espi");
        const policy: WatermarkPolicy = { zone: espi.zone, endOfDay: espi.endOfDay, lagDays: espi.lagDays, lookBackYears: espi.lookBackYears };
        const items = await entityItems(await discover(ctx), ctx.entities, policy, ctx.clock());
        return ctx.providers.list(() => items);
      },
      process(item, ctx) {
        const espi = ctx.config.espi!;
        const it = item as UpdateItem<EntityItem<Point>>;
        const { entity, start, end } = it.provItem.payload;
        const get = (from: typeof start, what: string) =>
          httpText(usageUrl(espi.url, entity.payload, from.toUTC().toISO()!, end.minus({ seconds: 1 }).toUTC().toISO()!), {
            auth: { bearer: entity.payload.customer.access_token },
            what: `ESPI ${what} of ${item.label}`,
            timeoutMs: espi.timeoutMs,
          });
        const where = `${item.label} (ESPI answer)`;
        return fetchIncrement(ctx as StageContext<never>, it, {
          ext: "xml",
          contentType: "application/xml",
          probe: async () => maxReadingEnd(readEspi(await get(end.minus({ days: espi.probeDays }), "probe"), where), espi.zone),
          async fetch() {
            const xml = await get(start, "usage");
            const doc = readEspi(xml, where);
            if (doc.bad.length) ctx.log.warn(`${where}: ${doc.bad.length} reading(s) cannot be read, first at line ${doc.bad[0]!.line}: ${doc.bad[0]!.reason}`);
            return { body: xml, maxReading: maxReadingEnd(doc, ctx.zone), rows: doc.readings.length };
          },
        });
      },
    }),
    defineStage<OeemConfig>({
      kind: "transform",
      name: "parse",
      description: "OEEM: raw ESPI XML without its parsed object → standard JSON rows per record type",
      perfmet: "Standardize",
      from: "raw",
      to: "standardized",
      compareOn: "base",
      window: "all",
      select: { ext: "xml" },
      schedule: { at: "04:30", args: ["-r", "0"] },
      process({ entry, body }, ctx) {
        const parse = PARSERS[ctx.config.parser];
        if (!parse) throw new ConfigError(`sources.oeem.parser "${ctx.config.parser}": known parsers are ${Object.keys(PARSERS).join(", ")}`);
        const parts = entry.metadata?.parts as string[] | undefined;
        if (!parts) throw new TerminalError(`${entry.pointer}: its catalog row has no entity parts`);
        const file = `${ctx.from.repository}/${entry.pointer}`;
        const { types, bad } = parse(body, { file, parts });
        for (const b of bad) ctx.quarantine({ reason: b.reason, file, line: b.line, text: b.text });
        const rows = Object.values(types).reduce((n, r) => n + r.length, 0);
        const name = ctx.from.basename(entry.pointer).replace(/\.xml$/, ".json");
        return { ext: "json", name, json: { source: file, run: entry.metadata?.run ?? null, parts, types }, rows, collectionEnd: entry.collectionEnd, metadata: { parts, run: entry.metadata?.run ?? null } };
      },
    }),
    defineStage<OeemConfig>({
      kind: "transform",
      name: "upload",
      description: "OEEM: parsed rows without an uploaded marker → the datastore (parents first), then the marker",
      perfmet: "Publish",
      from: "standardized",
      to: "ready",
      compareOn: "base",
      window: "all",
      select: { ext: "json" },
      schedule: { at: "05:00", args: ["-r", "0"] },
      async process({ entry, body }, ctx) {
        const ds = need(ctx.config.datastore, "datastore");
        const { types } = JSON.parse(body.toString("utf8")) as { types: Record<string, UploadRow[]> };
        const file = `${ctx.from.repository}/${entry.pointer}`;
        const sizes = RECORD_TYPES.map((t) => ({ ...t, batchSize: ds.batchSize[t.name] ?? t.batchSize }));
        const result = await bulkUpload(sizes, types, async (type, rows, where) => {
          const answer = await httpJson<({ id: string | number } | null)[]>(`${ds.url}/${type}/sync/`, { json: rows, ...bearer(ctx, ds.tokenSecret), what: where });
          return answer.map((a) => (a && a.id !== undefined ? a.id : null));
        }, file);
        for (const [type, n] of Object.entries(result.orphans)) ctx.drop(`orphan ${type} (its parent has no datastore id)`, n);
        for (const [type, n] of Object.entries(result.refused)) ctx.drop(`${type} refused by the datastore`, n);
        const name = ctx.from.basename(entry.pointer).replace(/\.json$/, ".uploaded");
        const sent = Object.values(result.sent).reduce((a, b) => a + b, 0);
        return { ext: "uploaded", name, json: { ...result, source: file }, rows: sent, collectionEnd: entry.collectionEnd, metadata: { parts: entry.metadata?.parts ?? null } };
      },
    }),
  ],
  demo: () => import("./simulate.js"),
});
