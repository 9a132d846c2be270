/**
 * Publisher (original §4): buffers rows and upserts them by row id in chunks of the driver's capability
 * (Socrata: 10,000). Never sends an empty batch (fixes B35). With -o DIR every flushed batch is also appended to
 * DIR/<dataset>.csv; under -0 nothing is sent (the plan records it).
 */
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "csv-stringify/sync";
import type { PublisherDriver, PublishRow } from "./drivers.js";
import type { RunWriteOptions } from "./events.js";

export interface PublisherOptions extends RunWriteOptions {
  /** Rows per request; defaults to the driver's capability. */
  chunkSize?: number;
}

export class Publisher {
  private buffer: PublishRow[] = [];
  /** Rows flushed since the last reset(). */
  rowCount = 0;
  /** Rows flushed over the publisher's life. */
  totalRows = 0;
  private csvHeader: string[] | undefined;
  private csvStarted = false;
  readonly chunkSize: number;

  constructor(
    readonly driver: PublisherDriver,
    /** Target id (Socrata resource id, CSV dataset name). */
    readonly dataset: string,
    readonly rowIdField: string,
    private readonly opts: PublisherOptions = {},
  ) {
    this.chunkSize = Math.max(1, Math.min(opts.chunkSize ?? driver.capabilities.maxRowsPerRequest, driver.capabilities.maxRowsPerRequest));
  }

  get simulate(): boolean {
    return this.opts.simulate ?? false;
  }

  async addRow(row: PublishRow): Promise<void> {
    this.buffer.push(row);
    if (this.buffer.length >= this.chunkSize) await this.flush();
  }

  /** addRow() of each row in order, as one operation (one promise for many rows). */
  async addRows(rows: readonly PublishRow[]): Promise<void> {
    for (const row of rows) {
      this.buffer.push(row);
      if (this.buffer.length >= this.chunkSize) await this.flush();
    }
  }

  async flush(): Promise<void> {
    const rows = this.buffer;
    if (rows.length === 0) return;
    this.buffer = [];
    const started = Date.now();
    if (this.simulate) {
      this.opts.plan?.push({ kind: "publish", target: this.dataset, detail: `${rows.length} rows (upsert by ${this.rowIdField})` });
    } else {
      await this.driver.upsert(this.dataset, rows, this.rowIdField);
    }
    if (this.opts.outputDir) await this.writeSideCsv(rows);
    this.rowCount += rows.length;
    this.totalRows += rows.length;
    this.opts.events?.emit("publish.chunk", {
      app: this.opts.app ?? "",
      dataset: this.dataset,
      rows: rows.length,
      ms: Date.now() - started,
      simulated: this.simulate,
    });
  }

  /** Drops unflushed rows and restarts the per-file row counter. */
  reset(): void {
    this.buffer = [];
    this.rowCount = 0;
  }

  async delete(rowIds: string[]): Promise<number> {
    if (rowIds.length === 0) return 0;
    if (!this.driver.capabilities.supportsDelete) throw new Error(`Publisher ${this.driver.driverName} cannot delete rows`);
    if (this.simulate) {
      this.opts.plan?.push({ kind: "publish", target: this.dataset, detail: `delete ${rowIds.length} rows` });
      return 0;
    }
    let deleted = 0;
    for (let i = 0; i < rowIds.length; i += this.chunkSize) {
      const chunk = rowIds.slice(i, i + this.chunkSize);
      deleted += await this.driver.delete(this.dataset, chunk, this.rowIdField);
    }
    return deleted;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  /** Header = union of keys in first-seen order, so a later row with other keys does not fail (fixes B35's CSV part). */
  private async writeSideCsv(rows: PublishRow[]): Promise<void> {
    const dir = this.opts.outputDir!;
    const file = path.join(dir, `${this.dataset}.csv`);
    if (!this.csvHeader) this.csvHeader = [];
    for (const row of rows) for (const k of Object.keys(row)) if (!this.csvHeader.includes(k)) this.csvHeader.push(k);
    const body = stringify(
      rows.map((r) => this.csvHeader!.map((k) => r[k] ?? "")),
      { record_delimiter: "\r\n" },
    );
    if (!this.csvStarted) {
      await mkdir(dir, { recursive: true });
      await writeFile(file, stringify([this.csvHeader], { record_delimiter: "\r\n" }) + body);
      this.csvStarted = true;
    } else {
      await appendFile(file, body);
    }
  }
}
