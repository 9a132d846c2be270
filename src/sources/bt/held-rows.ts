/**
 * The rows of a ready file as bt-extract-soc needs them, held compactly, per publish field: time fields as their
 * Socrata wall time (socrataWallTime(): a string, or null when missing or not a time; one string per run of equal
 * texts), dev_addr and device ids as value ids (ValueIds: each distinct value once; dev_addr ids shared over the
 * day give the device_address numbering), the other fields as their values. Read in one pass over the file's
 * bytes: rows that match the file's flat template are taken in place (see flat-rows.ts); any other row is parsed
 * and its fields taken from the object, so both give the values JSON.parse would (a missing field is undefined).
 */
import type { BtFileType } from "./files.js";
import { IntList, RowTemplate, sameBytes, ValueIds } from "./flat-rows.js";
import { socrataWallTime, socrataWallTimeBytes } from "./times.js";

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
/** Fields held as value ids (the others as their values). */
const ID_FIELDS = new Set(["dev_addr", "device_id", "origin_device_id", "dest_device_id"]);

type Kind = "time" | "id" | "plain";

export class HeldRows {
  readonly fields: readonly string[];
  private readonly kinds: Kind[];
  /** Per id field, its distinct values; per id field and row, the value's id. */
  readonly ids: ValueIds[];
  readonly rowIds: IntList[];
  /** Per time field, per row, socrataWallTime() of its text; per other field, per row, its value. */
  readonly values: unknown[][];
  /** Per time or plain field, the bytes and value of the last text (neighbouring rows repeat values). */
  private readonly lastBuf: (Buffer | undefined)[];
  private readonly lastStart: number[];
  private readonly lastEnd: number[];
  private readonly lastValue: unknown[];
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
    this.kinds = this.fields.map((f) => (TIME_FIELDS.has(f) ? "time" : ID_FIELDS.has(f) ? "id" : "plain"));
    this.ids = this.fields.map((f) => (f === "dev_addr" && devAddrIds ? devAddrIds : new ValueIds()));
    this.rowIds = this.fields.map(() => new IntList());
    this.values = this.fields.map(() => []);
    this.lastBuf = this.fields.map(() => undefined);
    this.lastStart = this.fields.map(() => 0);
    this.lastEnd = this.fields.map(() => 0);
    this.lastValue = this.fields.map(() => null);
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
      const kind = this.kinds[k];
      if (kind === "id") this.rowIds[k]!.push(this.ids[k]!.of(v));
      else {
        this.values[k]!.push(kind === "time" ? socrataWallTime(v) : v);
        this.lastBuf[k] = undefined;
      }
    }
    this.length++;
  }

  private takeMatched(t: RowTemplate, buf: Buffer): void {
    const idx = this.templateIdx;
    for (let k = 0; k < idx.length; k++) {
      const j = idx[k]!;
      if (this.kinds[k] === "id") this.rowIds[k]!.push(j < 0 ? this.ids[k]!.of(undefined) : this.ids[k]!.ofBytes(buf, t.starts[j]!, t.ends[j]!));
      else this.values[k]!.push(j < 0 ? (this.kinds[k] === "time" ? null : undefined) : this.valueOf(k, buf, t.starts[j]!, t.ends[j]!));
    }
    this.length++;
  }

  /** A time or plain field's value from its bytes (start = -1: null). */
  private valueOf(k: number, buf: Buffer, start: number, end: number): unknown {
    if (start < 0) return null;
    if (this.lastBuf[k] === buf && sameBytes(buf, start, end, buf, this.lastStart[k]!, this.lastEnd[k]!)) return this.lastValue[k];
    const out = this.kinds[k] === "time" ? socrataWallTimeBytes(buf, start, end) : buf.toString("latin1", start, end);
    this.lastBuf[k] = buf;
    this.lastStart[k] = start;
    this.lastEnd[k] = end;
    this.lastValue[k] = out;
    return out;
  }

  /** Value of field column k in row i (a time field: its wall time). */
  value(k: number, i: number): unknown {
    if (this.kinds[k] === "id") return this.ids[k]!.value(this.rowIds[k]!.get(i));
    return this.values[k]![i];
  }
}
