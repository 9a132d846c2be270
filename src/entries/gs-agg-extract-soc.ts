/**
 * gs-agg-extract-soc (original §9.3.5): ready aggregates (base, "agg<N>.json", D) → the "Camera Traffic Counts"
 * dataset (key "gs", Socrata sh59-i6y9), upserted by record_id; -a/--agg N picks the aggregate files,
 * -u/--no_unassigned leaves "Unassigned" approaches out.
 *
 * Each published file is recorded in the catalog under the public repository (pointer = dataset id) only after its
 * rows were sent, and never in simulation, so a failed publish is retried on the next run.
 *
 * Differences from the original, on purpose:
 * - B28: published files are compared on base and ext, so the aggregates of another -a interval publish separately.
 * - B27: a file with no matched device is not retried silently every night: it is reported as skipped
 *   ("no matched device") in the run summary and recorded in the catalog under the public repository with
 *   metadata {"skipped": "no matched device", ...}. Once the device match is repaired (unit data, or
 *   sources.gs.lookups, then gs-ready -F and gs-ready-agg -F for those days), `-F` or `--retry_skipped` publishes
 *   it and the catalog row loses its skip marker.
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type ProvItem, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import type { Publisher } from "../support/publisher.js";
import { TerminalError } from "../support/errors.js";
import { parseSplit } from "../util/pyjson-parse.js";
import { aggExt } from "../sources/gs/aggregate.js";
import { GS_DATASET_KEY, GS_ROW_ID, hasDevice, shapeRow, type WarningCounts } from "../sources/gs/publish.js";
import { parseAggMinutes } from "./gs-ready-agg.js";

export const SKIP_NO_DEVICE = "no matched device";

/** The public-repository catalog rows, optionally without the skip markers (so --retry_skipped yields those files). */
class PublishedProvider extends CatalogProvider {
  constructor(
    catalog: ConstructorParameters<typeof CatalogProvider>[0],
    repository: string,
    filters: ConstructorParameters<typeof CatalogProvider>[2],
    popts: ConstructorParameters<typeof CatalogProvider>[3],
    private readonly withoutSkipped: boolean,
  ) {
    super(catalog, repository, filters, popts);
  }
  protected override async *runQuery(): AsyncIterable<ProvItem<CatalogEntry>> {
    for await (const it of super.runQuery()) {
      if (this.withoutSkipped && it.payload.metadata && "skipped" in it.payload.metadata) continue;
      yield it;
    }
  }
}

interface AggJson {
  header: Record<string, unknown>;
  data: Record<string, unknown>[];
  site?: { site?: { Location?: { Street1?: unknown; Street2?: unknown } } };
  device?: unknown;
}

export class GsAggExtractSoc extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "gs-agg-extract-soc",
    description: "GRIDSMART: ready aggregates → Camera Traffic Counts dataset",
    dataSource: "gs",
    stage: "Publish",
    purposeSrc: "ready",
  };
  static readonly options: CustomOption[] = [
    { flags: "-a, --agg <minutes>", description: "aggregation interval in minutes of the files to publish", default: 15, parse: parseAggMinutes },
    { flags: "-u, --no_unassigned", description: 'leave "Unassigned" approaches out', default: false },
    { flags: "--retry_skipped", description: "publish again the files recorded as skipped (no matched device)", default: false },
  ];

  private publisher!: Publisher;

  get minutes(): number {
    return parseAggMinutes(this.options.agg ?? 15);
  }

  protected async etlActivity(): Promise<number> {
    this.publisher = await this.createPublisher(GS_DATASET_KEY, GS_ROW_ID);
    const ext = aggExt(this.minutes);
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, { ext }, this.providerOptions());
    const tgt = new PublishedProvider(this.catalog, this.repository("public"), { ext }, this.providerOptions(), Boolean(this.options.retry_skipped));
    return this.doCompareLoop(src, tgt, { baseExtKey: true });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const entry = item.provItem.payload as CatalogEntry;
    const json = parseSplit((await this.storageSrc!.retrieveBuffer(entry.pointer)).toString("utf8"), ["data", "site"], entry.pointer) as unknown as AggJson;
    if (!json || !Array.isArray(json.data)) throw new TerminalError(`${entry.pointer}: not an aggregate file ("data" list expected)`);
    const publicRepo = this.repository("public");
    const dataset = this.publisher.dataset;

    if (!hasDevice(json.device)) {
      const loc = json.site?.site?.Location;
      const where = `${String(loc?.Street1 ?? "?")} / ${String(loc?.Street2 ?? "?")}`;
      this.log("warn", `${entry.pointer}: the intersection ${where} has no matched unit-data device; not published`);
      // Recorded so the nightly window does not retry it silently forever (B27); -F or --retry_skipped retries it.
      await this.catalog.upsert(
        this.catalog.build(publicRepo, item.base, item.ext, item.date, dataset, {
          processingDate: this.processingDate,
          metadata: { skipped: SKIP_NO_DEVICE, site_streets: where, source: entry.pointer },
        }),
      );
      return this.skipItem(item, SKIP_NO_DEVICE);
    }

    const warnings: WarningCounts = new Map();
    const opts = { minutes: this.minutes, noUnassigned: Boolean(this.options.no_unassigned), zone: this.zone };
    this.publisher.reset();
    for (let i = 0; i < json.data.length; i++) {
      const row = shapeRow(json.data[i]!, json.device, opts, warnings, `${entry.pointer} data[${i}]`);
      if (row) await this.publisher.addRow(row);
    }
    await this.publisher.flush();
    const rows = this.publisher.rowCount;
    this.publisher.reset();
    // Only after the rows went out: a failed publish leaves no catalog row, so the next run retries the file.
    await this.catalog.upsert(this.catalog.build(publicRepo, item.base, item.ext, item.date, dataset, { processingDate: this.processingDate }));
    for (const [msg, n] of warnings) this.log("warn", `${entry.pointer}: ${msg} (x${n})`);
    this.addRecords(rows);
    this.log("info", `${entry.pointer}: ${rows} rows -> ${dataset}`);
    return 1;
  }
}

export const App = GsAggExtractSoc;
export const main = makeMain(App);
