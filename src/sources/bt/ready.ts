/**
 * Bluetooth ready transform (original §9.1.3): standardized rows joined with the device inventory (inner joins on
 * reader names, hashed device ids), sorted, written as {"header", "data", "devices"}.
 *
 * A row is held as its bytes (a reference to the input chunk holding it) plus the value ids of its sort and join
 * columns (src/util/json-rows.ts), sorted on those, and written as its bytes without the "}" followed by the device
 * id(s): exactly what json.dumps writes for the row with the ids added. A row whose bytes are not json.dumps's own
 * (a number, an escape, another key order than the file's first rows, a key named like an added id column) is
 * written out again as json.dumps writes it, with its keys in order of first appearance in the file, as pandas'
 * frame held them.
 */
import type { UnitDevice } from "../../support/drivers.js";
import { md5Concat, pyFloat, pyJson } from "../../util/pyjson.js";
import { IntList, JsonRow, jsonText, readJsonRows, sortedOrder, ValueIds, type JsonInput, type RowTemplate } from "../../util/json-rows.js";
import { READY_SORT, type BtFileType } from "./files.js";

/** lat/lon as Python printed them: floats ("30.0"); null as pandas' NaN ("nan"); text as is. */
function coordText(v: unknown): unknown {
  if (typeof v === "number") return pyFloat(v);
  if (v === null || v === undefined) return "nan";
  return v;
}

/**
 * device_id = MD5 of str(device_type) + str(device_ip) + str(lat) + str(lon). Null type or ip hash as "None"
 * (Python str(None)); the original concatenated the raw values and crashed on null (B12). Null lat/lon hash as
 * "nan", as the original's pandas frame held them.
 */
export function btDeviceId(d: UnitDevice): string {
  return md5Concat(d.device_type ?? null, d.device_ip ?? null, coordText(d.lat), coordText(d.lon));
}

/** A device as written into the ready file: its inventory keys, lat/lon as floats, then device_id. */
export function readyDevice(d: UnitDevice, id: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) out[k] = (k === "lat" || k === "lon") && typeof v === "number" ? pyFloat(v) : v;
  out.device_id = id;
  return out;
}

/** Join columns per file type: data column → added device id column. */
export const JOINS: Record<BtFileType, readonly [string, string][]> = {
  unmatched: [["reader_id", "device_id"]],
  matched: [
    ["origin_reader_id", "origin_device_id"],
    ["dest_reader_id", "dest_device_id"],
  ],
  traf_match_summary: [
    ["origin_reader_id", "origin_device_id"],
    ["dest_reader_id", "dest_device_id"],
  ],
};

export interface ReadyJoinStats {
  rowsIn: number;
  rowsOut: number;
  /** Reader name → rows dropped because the inventory has no device of that name. */
  missingReaders: Map<string, number>;
}

/** Bytes per piece of the written ready file. */
const OUT_BATCH = 1 << 20;
const COMMA = 44;
const SPACE = 32;

/**
 * The ready file of one standardized file: rows are joined with the inventory as they arrive (rows of readers the
 * inventory lacks are dropped and counted; a name held by several devices repeats the row, as the original's
 * merge), then sorted and written by json().
 */
export class ReadyBuilder {
  readonly stats: ReadyJoinStats = { rowsIn: 0, rowsOut: 0, missingReaders: new Map() };
  private readonly idsByName = new Map<string, string[]>();
  private readonly deviceIds: string[];
  private readonly usedIds = new Set<string>();
  private readonly joins: readonly [string, string][];
  private readonly idColumns: Set<string>;

  /** The fields read from each row (the sort keys, then the join names not among them), their ids per row. */
  private readonly row: JsonRow;
  private readonly valueIds: ValueIds[];
  private readonly rowIds: IntList[];
  private readonly ids: number[];
  private readonly sortField: number[];
  private readonly joinField: number[];
  /** Per join, name id → device ids of that name (undefined: none). */
  private readonly joinLookup: (string[] | undefined)[][];

  /** Each held row's bytes: the chunk holding it (kept referenced until written) and its [start, end). */
  private readonly chunks: (Buffer | undefined)[] = [];
  private lastChunk: Buffer | undefined;
  private readonly rowChunk = new IntList();
  private readonly rowStart = new IntList();
  private readonly rowEnd = new IntList();
  /** The output rows, in join order: held row and its suffix (the device id(s) text, then "}"). */
  private readonly outRow = new IntList();
  private readonly outSuffix = new IntList();
  private readonly suffixes: Buffer[] = [];
  private readonly suffixIds = new Map<string, number>();
  private readonly idKeys: string[];

  /** Data columns in order of first appearance over the rows kept (the key order of rows written out again). */
  private readonly columns = new Map<string, number>();
  private checkedTemplate: RowTemplate | undefined;
  private templateFits = false;

  constructor(
    readonly fileType: BtFileType,
    readonly devices: UnitDevice[],
  ) {
    this.deviceIds = devices.map(btDeviceId);
    devices.forEach((d, i) => {
      const name = d.device_name;
      if (typeof name !== "string") return;
      const list = this.idsByName.get(name) ?? [];
      list.push(this.deviceIds[i]!);
      this.idsByName.set(name, list);
    });
    this.joins = JOINS[fileType];
    this.idColumns = new Set(this.joins.map(([, idCol]) => idCol));
    const fields = [...READY_SORT[fileType]];
    for (const [name] of this.joins) if (!fields.includes(name)) fields.push(name);
    this.row = new JsonRow(fields);
    this.valueIds = fields.map(() => new ValueIds());
    this.rowIds = fields.map(() => new IntList());
    this.ids = fields.map(() => -1);
    this.sortField = READY_SORT[fileType].map((f) => fields.indexOf(f));
    this.joinField = this.joins.map(([name]) => fields.indexOf(name));
    this.joinLookup = this.joins.map(() => []);
    this.idKeys = this.joins.map(([, idCol]) => jsonText(idCol));
  }

  /** Reads the rows of a standardized file; returns the rest of the document (header). */
  read(body: JsonInput, what: string): Promise<Record<string, unknown>> {
    return readJsonRows(body, "data", this.row, (row) => this.take(row), what);
  }

  /** One row given as an object (its json.dumps bytes). */
  add(row: Record<string, unknown>): void {
    const bytes = Buffer.from(pyJson(row), "latin1");
    this.row.read(bytes, 0, bytes.length);
    this.take(this.row);
  }

  /** Rows in the ready file. */
  get rowCount(): number {
    return this.stats.rowsOut;
  }

  private dropped(name: unknown): void {
    const key = name === null || name === undefined ? "(none)" : String(name);
    this.stats.missingReaders.set(key, (this.stats.missingReaders.get(key) ?? 0) + 1);
  }

  private take(row: JsonRow): void {
    this.stats.rowsIn++;
    const ids = this.ids;
    for (let k = 0; k < ids.length; k++) ids[k] = row.id(k, this.valueIds[k]!);
    let ids0: string[] | undefined;
    let ids1: string[] | undefined;
    for (let j = 0; j < this.joinField.length; j++) {
      const k = this.joinField[j]!;
      const nameId = ids[k]!;
      const lookup = this.joinLookup[j]!;
      let devices = lookup[nameId];
      if (devices === undefined && !(nameId in lookup)) {
        const name = this.valueIds[k]!.value(nameId);
        devices = lookup[nameId] = typeof name === "string" ? this.idsByName.get(name) : undefined;
      }
      if (!devices) {
        this.dropped(this.valueIds[k]!.value(nameId));
        return;
      }
      if (j === 0) ids0 = devices;
      else ids1 = devices;
    }
    const held = this.hold(row);
    for (const a of ids0!) {
      this.usedIds.add(a);
      if (ids1) {
        for (const b of ids1) {
          this.usedIds.add(b);
          this.output(held, a, b);
        }
      } else this.output(held, a, undefined);
    }
  }

  /** Keeps the row (its ids just read) as a reference to its bytes, or to them written again; returns its number. */
  private hold(row: JsonRow): number {
    for (let k = 0; k < this.ids.length; k++) this.rowIds[k]!.push(this.ids[k]!);
    let buf = row.buf;
    let start = row.start;
    let end = row.end;
    if (!row.canonical || !this.fits(row.template!)) {
      buf = Buffer.from(this.rewritten(row.object()), "latin1");
      start = 0;
      end = buf.length;
    }
    if (buf !== this.lastChunk) {
      this.chunks.push(buf);
      this.lastChunk = buf;
    }
    this.rowChunk.push(this.chunks.length - 1);
    this.rowStart.push(start);
    this.rowEnd.push(end);
    return this.rowStart.length - 1;
  }

  /** True when rows of the template are written as they are: no added id column among its keys, keys in order. */
  private fits(t: RowTemplate): boolean {
    if (t !== this.checkedTemplate) {
      this.checkedTemplate = t;
      let fits = true;
      let prev = -1;
      for (const k of t.keys) {
        if (this.idColumns.has(k)) fits = false;
        const c = this.column(k);
        if (c < prev) fits = false;
        prev = c;
      }
      this.templateFits = fits;
    }
    return this.templateFits;
  }

  private column(key: string): number {
    let c = this.columns.get(key);
    if (c === undefined) this.columns.set(key, (c = this.columns.size));
    return c;
  }

  /** json.dumps of the row with its keys in column order, its added id columns left out (the join sets them). */
  private rewritten(row: Record<string, unknown>): string {
    const keys = Object.keys(row).filter((k) => !this.idColumns.has(k));
    for (const k of keys) this.column(k);
    keys.sort((a, b) => this.columns.get(a)! - this.columns.get(b)!);
    return `{${keys.map((k) => `${jsonText(k)}: ${pyJson(row[k])}`).join(", ")}}`;
  }

  private output(row: number, a: string, b: string | undefined): void {
    const key = b === undefined ? a : `${a} ${b}`;
    let s = this.suffixIds.get(key);
    if (s === undefined) {
      s = this.suffixes.length;
      const text = b === undefined ? `, ${this.idKeys[0]}: ${jsonText(a)}}` : `, ${this.idKeys[0]}: ${jsonText(a)}, ${this.idKeys[1]}: ${jsonText(b)}}`;
      this.suffixes.push(Buffer.from(text, "latin1"));
      this.suffixIds.set(key, s);
    }
    this.outRow.push(row);
    this.outSuffix.push(s);
    this.stats.rowsOut++;
  }

  /** Devices the data refers to, in inventory order, each with its device_id. */
  usedDevices(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    this.devices.forEach((d, i) => {
      const id = this.deviceIds[i]!;
      if (this.usedIds.has(id)) out.push(readyDevice(d, id));
    });
    return out;
  }

  /**
   * Yields the ready JSON text: header (source header with processing_date replaced), sorted data (the row's
   * columns, then the added device id column(s), as pandas' merge appended them), devices.
   */
  *json(header: Record<string, unknown>, processingDate: string): Generator<Buffer | string> {
    const h = { ...header, processing_date: processingDate };
    yield `{"header": ${pyJson(h)}, "data": [`;
    // Sorted by the sort columns' values (strings in code-unit order, nulls last), ties in join order: as pandas'
    // stable sort_values.
    const keys = this.sortField.map((k) => ({ ids: this.valueIds[k]!, rowIds: this.rowIds[k]!.data }));
    const order = sortedOrder(keys, this.outRow.length, this.outRow.data);
    // Output rows left per input chunk: a chunk is let go once written out (rows come out near their input order,
    // so the input held shrinks while the output is written).
    const left = new Int32Array(this.chunks.length);
    const rowChunk = this.rowChunk.data;
    const outRow = this.outRow.data;
    for (let o = 0; o < this.outRow.length; o++) left[rowChunk[outRow[o]!]!]!++;
    this.chunkLeft = left;
    // Rows are written by fill(), a plain method: locals of a generator live in a heap object across its yields.
    for (let i = 0; i < order.length; ) {
      const out = Buffer.allocUnsafe(Math.max(OUT_BATCH, this.roomFor(order[i]!)));
      i = this.fill(order, i, out);
      yield out.subarray(0, this.filled);
    }
    yield `], "devices": [${this.usedDevices().map((d) => pyJson(d)).join(", ")}]}`;
  }

  /** Bytes filled by the last fill(). */
  private filled = 0;
  private chunkLeft = new Int32Array(0);

  /** Room needed by output row o (with its separator). */
  private roomFor(o: number): number {
    const r = this.outRow.data[o]!;
    return this.rowEnd.data[r]! - this.rowStart.data[r]! + this.suffixes[this.outSuffix.data[o]!]!.length + 2;
  }

  /** Writes output rows order[from...] into out while they fit; returns the next index (filled: bytes used). */
  private fill(order: Int32Array, from: number, out: Buffer): number {
    const { chunks, suffixes } = this;
    const rowChunk = this.rowChunk.data;
    const rowStart = this.rowStart.data;
    const rowEnd = this.rowEnd.data;
    const outRow = this.outRow.data;
    const outSuffix = this.outSuffix.data;
    const left = this.chunkLeft;
    const size = out.length;
    let pos = 0;
    let i = from;
    for (; i < order.length; i++) {
      const o = order[i]!;
      const r = outRow[o]!;
      const suffix = suffixes[outSuffix[o]!]!;
      const start = rowStart[r]!;
      const end = rowEnd[r]! - 1;
      if (pos + end - start + suffix.length + 2 > size) break;
      if (i > 0) {
        out[pos++] = COMMA;
        out[pos++] = SPACE;
      }
      // The row's bytes without its "}", then the device id(s) and "}" (after ", " unless the row is "{}").
      const c = rowChunk[r]!;
      pos += chunks[c]!.copy(out, pos, start, end);
      if (--left[c]! === 0) chunks[c] = undefined;
      if (end - start > 1) {
        out.set(suffix, pos); // a whole buffer: no view object, unlike copy()
        pos += suffix.length;
      } else pos += suffix.copy(out, pos, 2);
    }
    this.filled = pos;
    return i;
  }
}
