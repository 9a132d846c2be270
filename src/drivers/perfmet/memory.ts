/** In-memory perfmet for tests; keeps production and debug tables apart. */
import { defineDriver } from "../define.js";
import { memoryPerfmetOptions } from "../options.js";
import type { PerfmetDriver, PerfmetJob, PerfmetObs } from "../../support/drivers.js";
import { jobKey, obsKey, perfmetTables } from "./tables.js";

export class MemoryPerfmet implements PerfmetDriver {
  readonly driverName = "memory";
  /** table name → key → row */
  readonly tables = new Map<string, Map<string, PerfmetJob | PerfmetObs>>();
  readonly names: { job: string; obs: string };

  constructor(debug = false) {
    this.names = perfmetTables(debug);
  }

  private table(name: string) {
    let t = this.tables.get(name);
    if (!t) this.tables.set(name, (t = new Map()));
    return t;
  }

  async writeJob(job: PerfmetJob): Promise<void> {
    this.table(this.names.job).set(jobKey(job), { ...job });
  }

  async writeObs(obs: PerfmetObs[]): Promise<void> {
    for (const o of obs) this.table(this.names.obs).set(obsKey(o), { ...o });
  }

  async readJobs(q: { from: number; to: number }): Promise<PerfmetJob[]> {
    return ([...this.table(this.names.job).values()] as PerfmetJob[])
      .filter((j) => j.processing_date >= q.from && j.processing_date < q.to)
      .map((j) => ({ ...j, rows: j.rows ?? null }))
      .sort((a, b) => a.data_source.localeCompare(b.data_source) || a.stage.localeCompare(b.stage) || a.processing_date - b.processing_date);
  }

  async readObs(q: { from: number; to: number; dataSource?: string; dataType?: string }): Promise<PerfmetObs[]> {
    return ([...this.table(this.names.obs).values()] as PerfmetObs[])
      .filter(
        (o) =>
          o.collection_date >= q.from &&
          o.collection_date < q.to &&
          (q.dataSource === undefined || o.data_source === q.dataSource) &&
          (q.dataType === undefined || o.data_type === q.dataType),
      )
      .sort((a, b) => a.data_type.localeCompare(b.data_type) || a.sensor_name.localeCompare(b.sensor_name) || a.collection_date - b.collection_date);
  }
}

export default defineDriver({
  options: memoryPerfmetOptions,
  create: (_o, ctx) => new MemoryPerfmet(ctx.debug),
});
