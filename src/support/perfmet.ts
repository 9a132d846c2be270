/**
 * Performance metrics (original §5): one job row per run and per-sensor daily observations.
 * Observations are keyed by (sensor, data type, collection day), so several days staged before a write do not
 * overwrite each other (fixes B30). Simulation writes nothing (fixes B25).
 */
import { DateTime } from "luxon";
import type { PerfmetDriver, PerfmetObs } from "./drivers.js";
import type { LakeEventBus, PlanEntry } from "./events.js";
import { addDays } from "../util/dates.js";
import type { RetryPolicy } from "./resilience.js";

export const DATA_SOURCE_NAMES: Record<string, string> = { bt: "Bluetooth", wt: "Wavetronix", gs: "GRIDSMART" };

export interface SensorObservation {
  observation: number | null;
  expected?: number | null;
  collectionDate: DateTime;
  minTimestamp?: DateTime | null;
  maxTimestamp?: DateTime | null;
}

export class PerfMet {
  private collectStart: DateTime | undefined;
  private collectEnd: DateTime | undefined;
  private readonly obs = new Map<string, PerfmetObs>();

  constructor(
    readonly driver: PerfmetDriver,
    /** Long name: Bluetooth, Wavetronix, GRIDSMART. */
    readonly dataSourceName: string,
    readonly stage: string,
    readonly processingTime: DateTime,
    private readonly opts: { simulate?: boolean; retry?: RetryPolicy; plan?: PlanEntry[]; now: () => DateTime },
  ) {}

  /** Listens to the run's events: every processed item widens the job row's collection range by its day. */
  subscribe(events: LakeEventBus, app: string, zone: string): () => void {
    return events.on("item.done", (e) => {
      if (e.app === app && e.count > 0 && e.date !== undefined) this.recordCollect(DateTime.fromMillis(e.date, { zone }), true);
    });
  }

  /** Widens the run's collection range; representsDay adds one calendar day to the end. */
  recordCollect(ts: DateTime, representsDay = false): void {
    const end = representsDay ? addDays(ts, 1) : ts;
    if (!this.collectStart || ts < this.collectStart) this.collectStart = ts;
    if (!this.collectEnd || end > this.collectEnd) this.collectEnd = end;
  }

  get collectionRange(): { start: DateTime | undefined; end: DateTime | undefined } {
    return { start: this.collectStart, end: this.collectEnd };
  }

  recordSensorObs(sensor: string, dataType: string, o: SensorObservation): void {
    const key = `${sensor}\u0000${dataType}\u0000${o.collectionDate.toMillis()}`;
    this.obs.set(key, {
      data_source: this.dataSourceName,
      sensor_name: sensor,
      data_type: dataType,
      data: o.observation,
      expected: o.expected ?? null,
      collection_date: o.collectionDate.toMillis(),
      timestamp_min: o.minTimestamp ? o.minTimestamp.toMillis() : null,
      timestamp_max: o.maxTimestamp ? o.maxTimestamp.toMillis() : null,
    });
  }

  async writeSensorObs(): Promise<void> {
    if (this.obs.size === 0) return;
    const rows = [...this.obs.values()];
    this.obs.clear();
    if (this.opts.simulate) {
      this.opts.plan?.push({ kind: "perfmet", target: "observations", detail: `${rows.length} observations` });
      return;
    }
    await this.driver.writeObs(rows);
  }

  /** The run's job row: `records` = items processed (as the original), `rows` = rows written or published. */
  async logJob(records: number, rows: number): Promise<void> {
    const seconds = this.opts.now().diff(this.processingTime).as("seconds");
    const job = {
      data_source: this.dataSourceName,
      stage: this.stage,
      seconds,
      records,
      rows,
      processing_date: this.processingTime.toMillis(),
      collection_start: this.collectStart ? this.collectStart.toMillis() : null,
      collection_end: this.collectEnd ? this.collectEnd.toMillis() : null,
    };
    if (this.opts.simulate) {
      this.opts.plan?.push({ kind: "perfmet", target: "job", detail: `${this.dataSourceName} ${this.stage}: ${records} items processed, ${rows} rows` });
      return;
    }
    await this.driver.writeJob(job);
  }
}
