/**
 * Bluetooth ready transform (original §9.1.3): standardized rows joined with the device inventory (inner joins on
 * reader names, hashed device ids), sorted, written as {"header", "data", "devices"}.
 *
 * Rows are held once, column by column with repeated values shared (a day of 300,000 unmatched rows takes a few
 * tens of MB), sorted through an index, and written out piece by piece.
 */
import type { UnitDevice } from "../../support/drivers.js";
import { md5Concat, pyFloat } from "../../util/pyjson.js";
import { READY_SORT, type BtFileType } from "./files.js";
import { ByteBatcher, jsonValue } from "./json-stream.js";
import { IntList, RowTemplate, ValueIds } from "./flat-rows.js";
import { pyJson } from "../../util/pyjson.js";

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

/** Distinct values beyond which a column stops sharing through a lookup table (timestamps, device addresses). */
const INTERN_LIMIT = 4096;
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/**
 * Column store. Repeated values are shared: low-cardinality columns (readers, ips, device ids) through a lookup
 * table, any column with the previous row's value by reuse (rows come nearly sorted, so neighbours often repeat).
 */
export class RowTable {
  readonly columns: string[] = [];
  private readonly colIndex = new Map<string, number>();
  private readonly data: unknown[][] = [];
  private readonly interned: (Map<string, string> | undefined)[] = [];
  private readonly previous: unknown[] = [];
  private readonly plain: boolean[] = [];
  length = 0;

  column(name: string): number {
    let i = this.colIndex.get(name);
    if (i === undefined) {
      i = this.columns.length;
      this.colIndex.set(name, i);
      this.columns.push(name);
      this.data.push(new Array(this.length).fill(undefined));
      this.interned.push(new Map());
      this.previous.push(undefined);
      this.plain.push(true);
    }
    return i;
  }

  private share(col: number, v: unknown): unknown {
    if (typeof v !== "string") {
      if (v !== null && v !== undefined) this.plain[col] = false;
      return v;
    }
    const prev = this.previous[col];
    if (v === prev) return prev;
    const m = this.interned[col];
    let out = v;
    const hit = m?.get(v);
    if (hit !== undefined) out = hit;
    else {
      if (NEEDS_ESCAPE.test(v)) this.plain[col] = false;
      if (m) {
        if (m.size < INTERN_LIMIT) m.set(v, v);
        else this.interned[col] = undefined;
      }
    }
    this.previous[col] = out;
    return out;
  }

  /** True when every value of the column is null or a string that json.dumps writes as is between quotes. */
  isPlain(col: number): boolean {
    return this.plain[col] ?? true;
  }

  /** Appends a row: values[k] goes to column cols[k]; columns not named get undefined. */
  push(cols: readonly number[], values: readonly unknown[], n = cols.length): void {
    const width = this.data.length;
    if (n === width) {
      for (let k = 0; k < n; k++) this.data[cols[k]!]!.push(this.share(cols[k]!, values[k]));
    } else {
      for (let c = 0; c < width; c++) this.data[c]!.push(undefined);
      const r = this.length;
      for (let k = 0; k < n; k++) this.data[cols[k]!]![r] = this.share(cols[k]!, values[k]);
    }
    this.length++;
  }

  get(row: number, col: number): unknown {
    return this.data[col]![row];
  }

  /** Row indexes sorted by the key columns (ascending, nulls last, stable), like pandas sort_values. */
  sortedOrder(keys: readonly string[]): number[] {
    const cols = keys.map((k) => this.data[this.column(k)]!);
    const order = Array.from({ length: this.length }, (_, i) => i);
    order.sort((a, b) => {
      for (const c of cols) {
        const x = c[a];
        const y = c[b];
        if (x === y) continue;
        const xn = x === null || x === undefined;
        const yn = y === null || y === undefined;
        if (xn || yn) {
          if (xn && yn) continue;
          return xn ? 1 : -1;
        }
        return (x as string) < (y as string) ? -1 : 1;
      }
      return 0;
    });
    return order;
  }
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

/**
 * Accumulates standardized rows of one file, joining each with the inventory as it arrives (rows of readers the
 * inventory lacks are dropped and counted; a name held by several devices repeats the row, as the original's merge).
 *
 * Two ways in. addText()/addBytes() take rows as text: while every row is a flat row of one key order with plain
 * string values (what bt-json-standard writes; see flat-rows.ts), rows stay as their bytes, sort on precomputed
 * ranks and are written by copying their bytes with the device id(s) appended, which is exactly what the general
 * way writes for them. The first row that is not (another key order, a number, an escape) turns the builder to the
 * general way: the rows so far are parsed and replayed, and the rest go through add().
 */
export class ReadyBuilder {
  readonly table = new RowTable();
  readonly stats: ReadyJoinStats = { rowsIn: 0, rowsOut: 0, missingReaders: new Map() };
  private readonly idsByName = new Map<string, string[]>();
  private readonly deviceIds: string[];
  private readonly usedIds = new Set<string>();
  private readonly joins: readonly [string, string][];
  private readonly joinCols: number[];
  private mode: "undecided" | "flat" | "general" = "undecided";
  private flat: FlatRows | undefined;

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
    this.joinCols = this.joins.map(([, idCol]) => this.table.column(idCol));
  }

  private dropped(name: unknown): void {
    const key = name === null || name === undefined ? "(none)" : String(name);
    this.stats.missingReaders.set(key, (this.stats.missingReaders.get(key) ?? 0) + 1);
  }

  /** True while rows are held as bytes (the flat way). */
  get holdsBytes(): boolean {
    return this.mode === "flat";
  }

  /** Rows in the ready file. */
  get rowCount(): number {
    return this.stats.rowsOut;
  }

  /**
   * Takes the row whose "{" is at buf[p] when it is a flat row of the file's key order, keeping a reference to buf;
   * returns the index just past the row, or -1 (then give the row's text to addText()).
   */
  addBytes(buf: Buffer, p: number): number {
    if (this.mode !== "flat") return -1;
    const flat = this.flat!;
    const end = flat.template.match(buf, p);
    if (end < 0) return -1;
    this.takeFlat(flat, buf, p, end);
    return end;
  }

  /** One row as JSON text. */
  addText(text: string): void {
    if (this.mode === "undecided") {
      const template = RowTemplate.fromText(text);
      const idNames = new Set(this.joins.map(([, idCol]) => idCol));
      if (template && !template.keys.some((k) => idNames.has(k))) {
        this.flat = new FlatRows(template, this.fileType, this.joins);
        this.mode = "flat";
      } else this.mode = "general";
    }
    if (this.mode === "flat") {
      const flat = this.flat!;
      const buf = Buffer.from(text, "utf8");
      if (flat.template.match(buf, 0) === buf.length) {
        this.takeFlat(flat, buf, 0, buf.length);
        return;
      }
      this.toGeneral();
    }
    this.addRow(JSON.parse(text) as Record<string, unknown>, true);
  }

  /** One parsed row (the general way). */
  add(row: Record<string, unknown>): void {
    if (this.mode === "flat") this.toGeneral();
    this.mode = "general";
    this.addRow(row, true);
  }

  private readonly flatIds: number[] = [];

  private takeFlat(flat: FlatRows, buf: Buffer, start: number, end: number): void {
    this.stats.rowsIn++;
    const ids = this.flatIds;
    flat.idsOf(buf, ids);
    let ids0: string[] | undefined;
    let ids1: string[] | undefined;
    for (let j = 0; j < flat.joinRef.length; j++) {
      const ref = flat.joinRef[j]!;
      let devices: string[] | undefined;
      let name: unknown;
      if (ref >= 0) {
        const nameId = ids[ref]!;
        name = flat.valueIds[ref]!.value(nameId);
        const lookup = flat.joinLookup[j]!;
        devices = lookup[nameId];
        if (devices === undefined && typeof name === "string" && !(nameId in lookup)) devices = lookup[nameId] = this.idsByName.get(name);
      }
      if (!devices) {
        this.dropped(name);
        return;
      }
      if (j === 0) ids0 = devices;
      else ids1 = devices;
    }
    const row = flat.hold(buf, start, end, ids);
    for (const a of ids0!) {
      this.usedIds.add(a);
      if (ids1) {
        for (const b of ids1) {
          this.usedIds.add(b);
          flat.output(row, a, b);
          this.stats.rowsOut++;
        }
      } else {
        flat.output(row, a, undefined);
        this.stats.rowsOut++;
      }
    }
  }

  /** Leaves the flat way: the rows held so far are parsed and replayed in order (already counted). */
  private toGeneral(): void {
    const flat = this.flat!;
    this.flat = undefined;
    this.mode = "general";
    for (let r = 0; r < flat.rowCount; r++) this.addRow(JSON.parse(flat.rowText(r)) as Record<string, unknown>, false);
  }

  private lastKeys: string[] = [];
  private lastCols: number[] = [];
  private readonly rowCols: number[] = [];
  private readonly rowVals: unknown[] = [];

  private addRow(row: Record<string, unknown>, count: boolean): void {
    if (count) this.stats.rowsIn++;
    // Candidate device ids per join, in inventory order.
    let ids0: string[] | undefined;
    let ids1: string[] | undefined;
    for (let j = 0; j < this.joins.length; j++) {
      const name = row[this.joins[j]![0]];
      const ids = typeof name === "string" ? this.idsByName.get(name) : undefined;
      if (!ids) {
        if (count) this.dropped(name);
        return;
      }
      if (j === 0) ids0 = ids;
      else ids1 = ids;
    }
    // Column indexes of this row's keys (rows of one file share their keys: checked, then reused).
    const cols = this.rowCols;
    const vals = this.rowVals;
    let n = 0;
    let same = true;
    for (const k in row) {
      if (same && this.lastKeys[n] === k) cols[n] = this.lastCols[n]!;
      else {
        same = false;
        cols[n] = this.table.column(k);
      }
      vals[n] = row[k];
      n++;
    }
    if (!same || n !== this.lastKeys.length) {
      this.lastKeys = Object.keys(row);
      this.lastCols = cols.slice(0, n);
    }
    const base = n;
    for (const c of this.joinCols) cols[n++] = c;
    for (const a of ids0!) {
      if (ids1) {
        for (const b of ids1) {
          vals[base] = a;
          vals[base + 1] = b;
          this.usedIds.add(a);
          this.usedIds.add(b);
          this.table.push(cols, vals, n);
          if (count) this.stats.rowsOut++;
        }
      } else {
        vals[base] = a;
        this.usedIds.add(a);
        this.table.push(cols, vals, n);
        if (count) this.stats.rowsOut++;
      }
    }
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
   * Yields the ready JSON text: header (source header with processing_date replaced), sorted data, devices.
   * Column order: the standardized columns, then the added device id column(s).
   */
  *json(header: Record<string, unknown>, processingDate: string): Generator<Buffer | string> {
    const h = { ...header, processing_date: processingDate };
    yield `{"header": ${pyJson(h)}, "data": [`;
    if (this.flat) yield* this.flat.json();
    else yield* this.generalJson();
    yield `], "devices": [${this.usedDevices().map((d) => pyJson(d)).join(", ")}]}`;
  }

  private *generalJson(): Generator<Buffer> {
    // Device id columns go after the data columns, as pandas' merge appended them.
    const t = this.table;
    const idCols = new Set(this.joinCols);
    const order = [...t.columns.keys()].filter((c) => !idCols.has(c)).concat(this.joinCols);
    const keyText = order.map((c) => `${jsonValue(t.columns[c]!)}: `);
    const plain = order.map((c) => t.isPlain(c));
    const sorted = t.sortedOrder(READY_SORT[this.fileType]);
    const bytes = new ByteBatcher();
    let first = true;
    for (const r of sorted) {
      let row = first ? "{" : ", {";
      let sep = "";
      for (let k = 0; k < order.length; k++) {
        const v = t.get(r, order[k]!);
        if (v === undefined) continue;
        row += sep + keyText[k] + (v === null ? "null" : plain[k] ? `"${v as string}"` : jsonValue(v));
        sep = ", ";
      }
      const full = bytes.add(`${row}}`);
      first = false;
      if (full) yield full;
    }
    yield bytes.take();
  }
}

/** Packed sort keys stay exact below 2^53. */
const MAX_EXACT = 2 ** 53;
/** Bytes per piece of the written ready file. */
const OUT_BATCH = 1 << 20;

/**
 * The flat way's rows: each row's bytes (a reference to the input chunk holding it), the values of the sort and
 * join columns as ids (ValueIds: each distinct value once), and the output rows (row, appended device id text) in
 * join order.
 */
class FlatRows {
  /** Template columns held as ids (sort and join columns), their ValueIds and per row their id. */
  private readonly idCols: number[] = [];
  private readonly idOf: number[];
  readonly valueIds: ValueIds[] = [];
  private readonly rowIds: IntList[] = [];
  /** Index into idCols of each sort column (-1: the rows lack it, all null) and each join's name column. */
  private readonly sortRef: number[];
  readonly joinRef: number[];
  /** Per join, name id → device ids of that name (undefined: none). */
  readonly joinLookup: (string[] | undefined)[][];
  /** Each row's bytes: the input chunk holding it (kept referenced) and its [start, end). */
  private readonly chunks: (Buffer | undefined)[] = [];
  private lastChunk: Buffer | undefined;
  private readonly rowChunk = new IntList();
  private readonly rowStart = new IntList();
  private readonly rowEnd = new IntList();
  private readonly outRow = new IntList();
  private readonly outSuffix = new IntList();
  private readonly suffixes: Buffer[] = [];
  private readonly suffixIds = new Map<string, number>();
  private readonly idKeys: string[];

  constructor(
    readonly template: RowTemplate,
    fileType: BtFileType,
    joins: readonly [string, string][],
  ) {
    const keys = template.keys;
    this.idOf = keys.map(() => -1);
    const ref = (col: number): number => {
      if (col < 0) return -1;
      if (this.idOf[col]! < 0) {
        this.idOf[col] = this.idCols.length;
        this.idCols.push(col);
        this.valueIds.push(new ValueIds());
        this.rowIds.push(new IntList());
      }
      return this.idOf[col]!;
    };
    this.sortRef = READY_SORT[fileType].map((k) => ref(keys.indexOf(k)));
    this.joinRef = joins.map(([name]) => ref(keys.indexOf(name)));
    this.joinLookup = joins.map(() => []);
    this.idKeys = joins.map(([, idCol]) => jsonValue(idCol));
  }

  get rowCount(): number {
    return this.rowStart.length;
  }

  /** Ids of the id columns of the row just matched by the template, into `ids`. */
  idsOf(buf: Buffer, ids: number[]): void {
    const t = this.template;
    for (let i = 0; i < this.idCols.length; i++) {
      const col = this.idCols[i]!;
      ids[i] = this.valueIds[i]!.ofBytes(buf, t.starts[col]!, t.ends[col]!);
    }
  }

  /** Keeps the row just matched (its ids computed by idsOf), as a reference to its bytes; returns its number. */
  hold(buf: Buffer, start: number, end: number, ids: number[]): number {
    for (let i = 0; i < this.idCols.length; i++) this.rowIds[i]!.push(ids[i]!);
    if (buf !== this.lastChunk) {
      this.chunks.push(buf);
      this.lastChunk = buf;
    }
    this.rowChunk.push(this.chunks.length - 1);
    this.rowStart.push(start);
    this.rowEnd.push(end);
    return this.rowStart.length - 1;
  }

  output(row: number, a: string, b: string | undefined): void {
    const key = b === undefined ? a : `${a} ${b}`;
    let s = this.suffixIds.get(key);
    if (s === undefined) {
      s = this.suffixes.length;
      const text = b === undefined ? `, ${this.idKeys[0]}: ${jsonValue(a)}}` : `, ${this.idKeys[0]}: ${jsonValue(a)}, ${this.idKeys[1]}: ${jsonValue(b)}}`;
      this.suffixes.push(Buffer.from(text, "utf8"));
      this.suffixIds.set(key, s);
    }
    this.outRow.push(row);
    this.outSuffix.push(s);
  }

  /** Row r's text as held (for the switch to the general way). */
  rowText(r: number): string {
    return this.chunks[this.rowChunk.get(r)]!.toString("utf8", this.rowStart.get(r), this.rowEnd.get(r));
  }

  /**
   * Output rows in sort order: by each sort column's rank (strings in code-unit order, null last, as
   * RowTable.sortedOrder), then output order (stable).
   */
  private sortedOutput(): Int32Array {
    const n = this.outRow.length;
    const ranks = this.sortRef.map((ref) => {
      const values = ref < 0 ? [] : this.valueIds[ref]!.values;
      const order = values.map((_, i) => i);
      order.sort((a, b) => {
        const x = values[a];
        const y = values[b];
        const xn = x === null || x === undefined;
        const yn = y === null || y === undefined;
        if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
        return (x as string) < (y as string) ? -1 : (x as string) > (y as string) ? 1 : 0;
      });
      const rank = new Int32Array(values.length);
      let r = -1;
      let prev: unknown = undefined;
      let nullRank = -1;
      for (const id of order) {
        const v = values[id];
        if (v === null || v === undefined) {
          if (nullRank < 0) nullRank = ++r;
          rank[id] = nullRank;
        } else {
          if (r < 0 || v !== prev) r++;
          rank[id] = r;
          prev = v;
        }
      }
      return { rank, ids: ref < 0 ? undefined : this.rowIds[ref]!.data, size: r + 1 };
    });
    const outRow = this.outRow.data;
    const rankOf = (k: number, o: number): number => {
      const rk = ranks[k]!;
      return rk.ids ? rk.rank[rk.ids[outRow[o]!]!]! : 0;
    };
    let span = n;
    for (const r of ranks) span *= Math.max(1, r.size);
    if (span < MAX_EXACT) {
      const keys = new Float64Array(n);
      for (let o = 0; o < n; o++) {
        let key = 0;
        for (let k = 0; k < ranks.length; k++) key = key * Math.max(1, ranks[k]!.size) + rankOf(k, o);
        keys[o] = key * n + o;
      }
      keys.sort();
      const order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = keys[i]! % n;
      return order;
    }
    const perKey = ranks.map((_, k) => Int32Array.from({ length: n }, (_, o) => rankOf(k, o)));
    const order = Int32Array.from({ length: n }, (_, o) => o);
    order.sort((a, b) => {
      for (const r of perKey) if (r[a] !== r[b]) return r[a]! - r[b]!;
      return a - b;
    });
    return order;
  }

  *json(): Generator<Buffer> {
    const order = this.sortedOutput();
    // Output rows left per input chunk: a chunk is let go once written out (rows come out near their input order,
    // so the input held shrinks while the output is written).
    const left = new Int32Array(this.chunks.length);
    const rowChunk = this.rowChunk.data;
    const outRow = this.outRow.data;
    for (let o = 0; o < this.outRow.length; o++) left[rowChunk[outRow[o]!]!]!++;
    this.chunkLeft = left;
    // Rows are written by fill(), a plain method: locals of a generator live in a heap object across its yields.
    for (let i = 0; i < order.length; ) {
      const out = Buffer.allocUnsafe(Math.max(OUT_BATCH, this.longestRow(order, i)));
      i = this.fill(order, i, out);
      yield out.subarray(0, this.filled);
    }
  }

  /** Bytes filled by the last fill(). */
  private filled = 0;
  private chunkLeft = new Int32Array(0);

  /** Room needed by output row order[i] (with its separator). */
  private longestRow(order: Int32Array, i: number): number {
    const o = order[i]!;
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
        out[pos++] = 44;
        out[pos++] = 32;
      }
      // The row's bytes without its "}", then the device id(s) and "}".
      const c = rowChunk[r]!;
      pos += chunks[c]!.copy(out, pos, start, end);
      if (--left[c]! === 0) chunks[c] = undefined;
      out.set(suffix, pos); // a whole buffer: no view object, unlike copy()
      pos += suffix.length;
    }
    this.filled = pos;
    return i;
  }
}
