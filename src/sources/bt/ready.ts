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
 */
export class ReadyBuilder {
  readonly table = new RowTable();
  readonly stats: ReadyJoinStats = { rowsIn: 0, rowsOut: 0, missingReaders: new Map() };
  private readonly idsByName = new Map<string, string[]>();
  private readonly deviceIds: string[];
  private readonly usedIds = new Set<string>();
  private readonly joins: readonly [string, string][];
  private readonly joinCols: number[];

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

  private lastKeys: string[] = [];
  private lastCols: number[] = [];
  private readonly rowCols: number[] = [];
  private readonly rowVals: unknown[] = [];

  add(row: Record<string, unknown>): void {
    this.stats.rowsIn++;
    // Candidate device ids per join, in inventory order.
    let ids0: string[] | undefined;
    let ids1: string[] | undefined;
    for (let j = 0; j < this.joins.length; j++) {
      const name = row[this.joins[j]![0]];
      const ids = typeof name === "string" ? this.idsByName.get(name) : undefined;
      if (!ids) {
        this.dropped(name);
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
          this.stats.rowsOut++;
        }
      } else {
        vals[base] = a;
        this.usedIds.add(a);
        this.table.push(cols, vals, n);
        this.stats.rowsOut++;
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
    yield `], "devices": [${this.usedDevices().map((d) => pyJson(d)).join(", ")}]}`;
  }
}

