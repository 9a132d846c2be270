/**
 * The rows of a ready file as bt-extract-soc needs them, held compactly: per publish field a value id per row
 * (ValueIds: each distinct value once). Read in one pass over the file's bytes: rows that match the file's flat
 * template are taken in place (see flat-rows.ts); any other row is parsed and its fields taken from the object, so
 * both give the values JSON.parse would (a missing field is undefined). Time fields are held already as their
 * Socrata wall time (socrataWallTime(): a string, or null when missing or not a time), one string per run of equal
 * texts; the other fields as value ids.
 */
import type { BtFileType } from "./files.js";
import { IntList, RowTemplate, sameBytes, ValueIds } from "./flat-rows.js";
import { socrataWallTime } from "./times.js";

/** The fields each publish row is built from (src/sources/bt/publish.ts). */
export const PUBLISH_FIELDS: Record<BtFileType, readonly string[]> = {
  unmatched: ["host_timestamp", "field_timestamp", "device_id", "dev_addr"],
  matched: ["origin_device_id", "dest_device_id", "start_time", "end_time", "travel_time_secs", "speed", "match_validity", "filter_id", "dev_addr"],
  traf_match_summary: [
    "origin_device_id",
    "dest_device_id",
    "timestamp",
    "origin_road",
    "origin_cross_st",
    "origin_dir",
    "dest_road",
    "dest_cross_st",
    "dest_dir",
    "seg_length",
    "avg_travel_time",
    "avg_speed",
    "interval",
    "samples",
    "std_dev",
  ],
};

/** Fields held as their Socrata wall time. */
const TIME_FIELDS = new Set(["host_timestamp", "field_timestamp", "start_time", "end_time", "timestamp"]);

export class HeldRows {
  readonly fields: readonly string[];
  /** Per field (not a time field), its distinct values; per field and row, the value's id. */
  readonly ids: ValueIds[];
  readonly rowIds: IntList[];
  /** Per time field, per row, socrataWallTime() of its text. */
  readonly times: (string | null)[][];
  private readonly isTime: boolean[];
  /** Per time field, the bytes and result of the last text (rows in time order repeat their times). */
  private readonly lastBuf: (Buffer | undefined)[];
  private readonly lastStart: number[];
  private readonly lastEnd: number[];
  private readonly lastTime: (string | null)[];
  private template: RowTemplate | undefined;
  private templateIdx: number[] = [];
  private decided = false;
  length = 0;

  /** `devAddrIds`: the day's dev_addr ids, shared by the day's files so ids follow first appearance over them. */
  constructor(
    readonly fileType: BtFileType,
    devAddrIds?: ValueIds,
  ) {
    this.fields = PUBLISH_FIELDS[fileType];
    this.ids = this.fields.map((f) => (f === "dev_addr" && devAddrIds ? devAddrIds : new ValueIds()));
    this.rowIds = this.fields.map(() => new IntList());
    this.isTime = this.fields.map((f) => TIME_FIELDS.has(f));
    this.times = this.fields.map(() => []);
    this.lastBuf = this.fields.map(() => undefined);
    this.lastStart = this.fields.map(() => 0);
    this.lastEnd = this.fields.map(() => 0);
    this.lastTime = this.fields.map(() => null);
  }

  /** Column of a field, or -1. */
  column(field: string): number {
    return this.fields.indexOf(field);
  }

  /** Takes the row whose "{" is at buf[p] when it matches the file's template; else -1 (give its text to addText). */
  addBytes(buf: Buffer, p: number): number {
    const t = this.template;
    if (!t) return -1;
    const end = t.match(buf, p);
    if (end < 0) return -1;
    this.takeMatched(t, buf);
    return end;
  }

  /** One row as JSON text. */
  addText(text: string): void {
    if (!this.decided) {
      this.decided = true;
      this.template = RowTemplate.fromText(text);
      if (this.template) this.templateIdx = this.fields.map((f) => this.template!.keys.indexOf(f));
    }
    const t = this.template;
    if (t) {
      const buf = Buffer.from(text, "utf8");
      if (t.match(buf, 0) === buf.length) {
        this.takeMatched(t, buf);
        return;
      }
    }
    const row = JSON.parse(text) as Record<string, unknown>;
    for (let k = 0; k < this.fields.length; k++) {
      const v = row[this.fields[k]!];
      if (this.isTime[k]) {
        this.times[k]!.push(socrataWallTime(v));
        this.lastBuf[k] = undefined;
      } else this.rowIds[k]!.push(this.ids[k]!.of(v));
    }
    this.length++;
  }

  private takeMatched(t: RowTemplate, buf: Buffer): void {
    const idx = this.templateIdx;
    for (let k = 0; k < idx.length; k++) {
      const j = idx[k]!;
      if (this.isTime[k]) this.times[k]!.push(j < 0 ? null : this.timeOf(k, buf, t.starts[j]!, t.ends[j]!));
      else this.rowIds[k]!.push(j < 0 ? this.ids[k]!.of(undefined) : this.ids[k]!.ofBytes(buf, t.starts[j]!, t.ends[j]!));
    }
    this.length++;
  }

  private timeOf(k: number, buf: Buffer, start: number, end: number): string | null {
    if (start < 0) return null;
    const last = this.lastBuf[k];
    if (last === buf && sameBytes(buf, start, end, buf, this.lastStart[k]!, this.lastEnd[k]!)) return this.lastTime[k]!;
    const out = socrataWallTime(buf.toString("latin1", start, end));
    this.lastBuf[k] = buf;
    this.lastStart[k] = start;
    this.lastEnd[k] = end;
    this.lastTime[k] = out;
    return out;
  }

  /** Value of field column k in row i (a time field: its wall time). */
  value(k: number, i: number): unknown {
    if (this.isTime[k]) return this.times[k]![i];
    return this.ids[k]!.values[this.rowIds[k]!.get(i)];
  }
}
