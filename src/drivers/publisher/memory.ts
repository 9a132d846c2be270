/**
 * In-memory publisher for tests: one Map (row id → row) per dataset, exposed for inspection.
 */
import { defineDriver } from "../define.js";
import { memoryPublisherOptions } from "../options.js";
import type { PublisherDriver, PublishRow } from "../../support/drivers.js";
import { TerminalError } from "../../support/errors.js";

export const DRIVER_NAME = "memory";


export interface MemoryPublisher extends PublisherDriver {
  /** Rows per dataset, keyed by row id, in first-insert order. */
  readonly datasets: Map<string, Map<string, PublishRow>>;
  /** Rows of one dataset (empty when the dataset was never written). */
  rows(dataset: string): PublishRow[];
  /** Size of every upsert request received, in order. */
  readonly batches: { dataset: string; rows: number }[];
  countRows(dataset: string): Promise<number>;
  countIds(dataset: string, rowIds: string[]): Promise<number>;
}

export function createMemoryPublisher(maxRowsPerRequest = 10_000): MemoryPublisher {
  const datasets = new Map<string, Map<string, PublishRow>>();
  const batches: { dataset: string; rows: number }[] = [];
  const table = (dataset: string) => {
    let t = datasets.get(dataset);
    if (!t) datasets.set(dataset, (t = new Map()));
    return t;
  };
  return {
    driverName: DRIVER_NAME,
    capabilities: { maxRowsPerRequest, supportsDelete: true },
    datasets,
    batches,
    rows: (dataset) => [...(datasets.get(dataset)?.values() ?? [])],
    async upsert(dataset, rows, rowIdField) {
      if (rows.length > maxRowsPerRequest) {
        throw new TerminalError(`memory publisher: ${rows.length} rows in one request to ${dataset}, more than ${maxRowsPerRequest}`);
      }
      if (rows.length === 0) return { created: 0, updated: 0 };
      batches.push({ dataset, rows: rows.length });
      rows.forEach((row, i) => {
        const id = row[rowIdField];
        if (id === undefined || id === null || id === "") {
          throw new TerminalError(`memory publisher: row ${i} for ${dataset} has no value in row id field "${rowIdField}"`);
        }
      });
      const t = table(dataset);
      let created = 0;
      let updated = 0;
      rows.forEach((row) => {
        const id = row[rowIdField]!;
        if (t.has(String(id))) updated++;
        else created++;
        t.set(String(id), { ...row });
      });
      return { created, updated };
    },
    async delete(dataset, rowIds) {
      const t = datasets.get(dataset);
      if (!t) return 0;
      let n = 0;
      for (const id of rowIds) if (t.delete(String(id))) n++;
      return n;
    },
    async countRows(dataset) {
      return datasets.get(dataset)?.size ?? 0;
    },
    async countIds(dataset, rowIds) {
      const t = datasets.get(dataset);
      return t ? new Set(rowIds.map(String).filter((id) => t.has(id))).size : 0;
    },
  };
}

export default defineDriver({
  options: memoryPublisherOptions,
  create: (options) => createMemoryPublisher(options.maxRowsPerRequest),
});
