/**
 * wt-extract-soc (original §9.2.4): ready JSON → the "Radar Traffic Counts" dataset (publisher key "wt",
 * Socrata i626-g7ub), upserted by row_id in chunks of 10,000. After a day is published it is recorded in the catalog
 * under the public repository with pointer = the dataset id; never in simulation, never after a failed upsert, so
 * a failed day is retried by the next run.
 */
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, type UpdateItem } from "../support/last-update.js";
import type { CatalogEntry } from "../support/catalog.js";
import { TerminalError, errorMessage } from "../support/errors.js";
import { Publisher } from "../support/publisher.js";
import { SocrataTimes, socrataRow, type ReadyRow, type SocrataRow } from "../sources/wt/transform.js";

/** Socrata's upsert limit per request (the original's SOC_CHUNK). */
export const SOCRATA_ROWS_PER_UPSERT = 10_000;
export const WT_DATASET_KEY = "wt";
/** Rows handed to the publisher at once; divides SOCRATA_ROWS_PER_UPSERT. */
const ADD_BATCH_ROWS = 1_000;
export const WT_ROW_ID = "row_id";

export class WtExtractSoc extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "wt-extract-soc",
    description: "Wavetronix: ready JSON → published dataset (Radar Traffic Counts)",
    dataSource: "wt",
    stage: "Publish",
    purposeSrc: "ready",
  };
  static readonly options: CustomOption[] = [];

  private publisher!: Publisher;
  private times!: SocrataTimes;

  protected async etlActivity(): Promise<number> {
    const driver = await this.runtime.driver("publisher", this.debug);
    this.publisher = new Publisher(driver, this.runtime.dataset(WT_DATASET_KEY, this.debug), WT_ROW_ID, {
      ...this.wrapperOptions,
      chunkSize: SOCRATA_ROWS_PER_UPSERT,
    });
    this.times = new SocrataTimes(this.zone);
    const src = new CatalogProvider(this.catalog, this.storageSrc!.repository, { ext: "json" }, this.providerOptions());
    const tgt = new CatalogProvider(this.catalog, this.repository("public"), {}, this.providerOptions());
    try {
      return await this.doCompareLoop(src, tgt, { baseExtKey: true });
    } finally {
      this.publisher.reset();
    }
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const entry = item.provItem.payload as CatalogEntry;
    const ready = await this.storageSrc!.retrieveJSON<{ data?: ReadyRow[] }>(entry.pointer);
    if (!Array.isArray(ready.data)) throw new TerminalError(`${this.storageSrc!.repository}/${entry.pointer}: no "data" list; rerun wt-ready for ${item.date.toISODate()} with -F`);
    this.publisher.reset();
    try {
      const rows = ready.data;
      // Handed over in batches (one promise per batch); the upsert chunk size is a multiple of the batch, so chunks
      // are sent exactly when one row at a time would send them, a failing row included.
      let batch: SocrataRow[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        rows[i] = undefined as unknown as ReadyRow; // each parsed row is let go once its Socrata row is made
        try {
          batch.push(socrataRow(row, this.times));
        } catch (err) {
          throw new TerminalError(
            `${this.storageSrc!.repository}/${entry.pointer} row ${i + 1}: field "curDateTime": ${errorMessage(err)}; rerun wt-json-standard and wt-ready for ${item.date.toISODate()} with -F`,
            { cause: err },
          );
        }
        if (batch.length === ADD_BATCH_ROWS) {
          await this.publisher.addRows(batch);
          batch = [];
        }
      }
      await this.publisher.addRows(batch);
      await this.publisher.flush();
    } catch (err) {
      this.publisher.reset(); // nothing of a failed day is recorded: the next run publishes it again (same row ids)
      throw err;
    }
    const published = this.publisher.rowCount;
    this.publisher.reset();
    this.addRecords(published);
    if (!this.simulate) {
      const done = this.catalog.build(this.repository("public"), item.base, item.ext, item.date, this.publisher.dataset, {
        processingDate: this.processingDate,
      });
      await this.catalog.upsert(done);
    }
    this.log("info", `${entry.pointer}: ${this.storageSrc!.repository} -> ${this.publisher.dataset}: ${published} rows`);
    return 1;
  }
}

export const App = WtExtractSoc;
export const main = makeMain(App);
