/**
 * The rows of the lake's large JSON documents (`{"header": …, "data": [rows…], …}`), read and written from and to
 * bytes, for any source. A day of rows is never held as one text nor as one object per row.
 *
 * Reading: readJsonRows() walks the document's bytes once and hands each row of one top-level array over as a
 * JsonRow, whose fields give value ids (ValueIds: each distinct value once) or values. Rows written the way
 * json.dumps writes a flat object of plain strings and nulls with the file's key order (what the lake's writers
 * produce) are read in place, with no JSON.parse and no row object; any other row is parsed. Both ways give the
 * values JSON.parse gives. sortedOrder() sorts rows on their value ids.
 *
 * Writing: JsonRowWriter writes rows as Python's json.dumps does (", " and ": " separators, ASCII escapes) into
 * large byte batches; ByteBatcher is the batching underneath, for writers that copy bytes through.
 *
 * Why by hand: bt-ready and bt-extract-soc read a 57 MiB file of 300,000 rows within their budget of one second and
 * 100 MiB (`npm run bench -- bt`); JSON.parse of every row takes several times the memory of the bytes.
 */
import { TerminalError } from "../support/errors.js";
import { pyJson } from "./pyjson.js";

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;
const N = 110;
const U = 117;
const L = 108;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Bytes given to a reader: storage streams give Buffers, tests strings. */
export type JsonInput = AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>;

/**
 * Scans a JSON object document: every element of its top-level array `arrayKey` (objects, or arrays, which a
 * reader then finds none of its fields in; anything else is an error) is handed to onRow as bytes, buf[start, end) (a view of the input chunk, or of the pieces joined when it spans chunks; a returned
 * promise is awaited before reading on). `atRow`, when given, is called at each element's "{" first: it may take
 * the element in place (when it lies whole in the chunk) and return the index just past its "}", or return -1 to
 * leave it to onRow. Returns the document with that array emptied, parsed. `what` names the object in errors.
 */
export async function scanJsonArray(
  input: JsonInput,
  arrayKey: string,
  what: string,
  onRow: (buf: Buffer, start: number, end: number) => void | Promise<void>,
  atRow?: (buf: Buffer, start: number) => number,
): Promise<Record<string, unknown>> {
  const skeleton: Buffer[] = [];
  let depth = 0;
  let inString = false;
  let carriedBackslashes = 0;
  let expectKey = false;
  let keyStart = -1;
  let keyPieces: Buffer[] = [];
  let lastKey: string | undefined;
  let awaitingValue = false;
  let inArray = false;
  let elementPieces: Buffer[] = [];
  let elementStart = -1;
  let offset = 0;

  for await (const raw of input) {
    const buf = typeof raw === "string" ? Buffer.from(raw, "utf8") : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    const n = buf.length;
    let i = 0;
    let skelStart = inArray ? -1 : 0;
    if (keyStart >= 0) keyStart = 0;
    if (elementStart >= 0) elementStart = 0;
    while (i < n) {
      if (inString) {
        // Strings are skipped with indexOf: close to one pass over the bytes.
        const q = buf.indexOf(QUOTE, i);
        if (q < 0) {
          let bs = 0;
          for (let k = n - 1; k >= i && buf[k] === BACKSLASH; k--) bs++;
          carriedBackslashes = bs === n - i ? carriedBackslashes + bs : bs;
          i = n;
          break;
        }
        let bs = 0;
        for (let k = q - 1; k >= i && buf[k] === BACKSLASH; k--) bs++;
        if (bs === q - i) bs += carriedBackslashes;
        carriedBackslashes = 0;
        i = q + 1;
        if (bs % 2 === 1) continue;
        inString = false;
        if (keyStart >= 0) {
          keyPieces.push(buf.subarray(keyStart, i));
          lastKey = JSON.parse(Buffer.concat(keyPieces).toString("utf8")) as string;
          keyPieces = [];
          keyStart = -1;
        }
        continue;
      }
      const c = buf[i]!;
      if (c === QUOTE) {
        inString = true;
        carriedBackslashes = 0;
        if (depth === 1 && expectKey) {
          keyStart = i;
          expectKey = false;
        } else if (inArray && depth === 2 && elementStart < 0) {
          throw new TerminalError(`${what}: "${arrayKey}" holds a string at byte ${offset + i}; expected objects`);
        }
        i++;
        continue;
      }
      if (c === OPEN_OBJ || c === OPEN_ARR) {
        if (depth === 1 && awaitingValue) {
          awaitingValue = false;
          if (c === OPEN_ARR && lastKey === arrayKey) {
            inArray = true;
            // keep "[" in the skeleton, stop copying until the array closes
            skeleton.push(Buffer.from(buf.subarray(skelStart, i + 1)));
            skelStart = -1;
            depth++;
            i++;
            continue;
          }
        }
        if (inArray && depth === 2) {
          if (atRow && c === OPEN_OBJ) {
            const end = atRow(buf, i);
            if (end >= 0) {
              i = end;
              continue;
            }
          }
          elementStart = i;
        }
        depth++;
        if (depth === 1) expectKey = true;
        i++;
        continue;
      }
      if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        depth--;
        if (inArray && depth === 2 && elementStart >= 0) {
          let row = buf;
          let start = elementStart;
          let end = i + 1;
          if (elementPieces.length > 0) {
            elementPieces.push(buf.subarray(elementStart, end));
            row = Buffer.concat(elementPieces);
            elementPieces = [];
            start = 0;
            end = row.length;
          }
          elementStart = -1;
          const pending = onRow(row, start, end);
          if (pending) await pending;
        } else if (inArray && depth === 1) {
          inArray = false;
          skelStart = i;
        }
        i++;
        continue;
      }
      if (depth === 1) {
        if (c === COMMA) expectKey = true;
        else if (c === COLON) awaitingValue = true;
        else if (!isSpace(c)) awaitingValue = false;
      } else if (inArray && depth === 2 && !isSpace(c) && c !== COMMA) {
        throw new TerminalError(`${what}: "${arrayKey}" holds a non-object value at byte ${offset + i}; expected objects`);
      }
      i++;
    }
    if (skelStart >= 0) skeleton.push(Buffer.from(buf.subarray(skelStart, n)));
    if (keyStart >= 0) keyPieces.push(Buffer.from(buf.subarray(keyStart, n)));
    if (elementStart >= 0) elementPieces.push(Buffer.from(buf.subarray(elementStart, n)));
    offset += n;
  }
  if (depth !== 0 || inString) throw new TerminalError(`${what}: the JSON ends early (truncated object); rewrite it from the layer before`);
  const text = Buffer.concat(skeleton).toString("utf8");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TerminalError(`${what}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new TerminalError(`${what}: expected a JSON object at the top`);
  return doc as Record<string, unknown>;
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
/** 1 for the bytes a plain string value holds as is: printable ASCII but '"' and '\\'. */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b <= 0x7e; b++) PLAIN[b] = b === QUOTE || b === BACKSLASH ? 0 : 1;

/**
 * The bytes json.dumps writes for a flat row of given keys in a given order whose values are plain strings (printable
 * ASCII, no '"' or '\\') or null: `{"k1": "v1", "k2": null, ...}`. match() recognises such a row in place and tells
 * where each value lies; anything else (other keys or order, other separators, numbers, escapes, non-ASCII text)
 * does not match. A matched row is exactly what json.dumps writes for its parsed object.
 */
export class RowTemplate {
  /** Per key, after match(): the value's bytes [start, end) without quotes; start = -1 for null. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** The key bytes (`{"k1": `, `, "k2": `, ...) one after the other, and where each key's bytes end. */
  private readonly keys8: Uint8Array;
  private readonly keyEnd: Int32Array;

  private constructor(readonly keys: readonly string[]) {
    const keyBytes = keys.map((k, j) => Buffer.from(`${j === 0 ? "{" : ", "}"${k}": `, "latin1"));
    this.keys8 = Buffer.concat(keyBytes);
    this.keyEnd = new Int32Array(keys.length);
    let end = 0;
    keyBytes.forEach((k, j) => (this.keyEnd[j] = end += k.length));
    this.starts = new Int32Array(keys.length);
    this.ends = new Int32Array(keys.length);
  }

  /** A template for rows with these keys in this order; undefined when a key would need a JSON escape or repeats. */
  static of(keys: readonly string[]): RowTemplate | undefined {
    if (keys.length === 0 || new Set(keys).size !== keys.length || keys.some((k) => NEEDS_ESCAPE.test(k))) return undefined;
    return new RowTemplate(keys);
  }

  /**
   * Matches the row starting at buf[p] ("{"): returns the index just past its "}" and fills starts/ends, or -1 when
   * the row is not of this template or does not end inside buf.
   */
  match(buf: Uint8Array, p: number): number {
    const n = buf.length;
    const keys = this.keys8;
    const keyEnd = this.keyEnd;
    const starts = this.starts;
    const ends = this.ends;
    let t = 0;
    for (let j = 0; j < keyEnd.length; j++) {
      const te = keyEnd[j]!;
      if (p + te - t >= n) return -1;
      for (; t < te; t++, p++) if (buf[p] !== keys[t]) return -1;
      const c = buf[p];
      if (c === QUOTE) {
        const s = ++p;
        while (p < n && PLAIN[buf[p]!] === 1) p++;
        if (p >= n || buf[p] !== QUOTE) return -1;
        starts[j] = s;
        ends[j] = p;
        p++;
      } else if (c === N && buf[p + 1] === U && buf[p + 2] === L && buf[p + 3] === L) {
        starts[j] = -1;
        ends[j] = -1;
        p += 4;
      } else return -1;
    }
    return p < n && buf[p] === CLOSE_OBJ ? p + 1 : -1;
  }
}

/** Rows parsed while no template is known, beyond which the reader stops looking for one (a file of odd rows). */
const TEMPLATE_TRIES = 16;

/**
 * One row of an array being read (readJsonRows()), read through the fields asked for. A row written as json.dumps
 * writes flat rows of the file's key order is read in place (canonical: its bytes are json.dumps's own for it, so
 * they can be copied through); any other row is parsed. The template is taken from the first row that is such a
 * row.
 */
export class JsonRow {
  /** The row's bytes: buf[start, end). */
  buf: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  /** The bytes are exactly what json.dumps writes for the row (read in place; the keys are template.keys). */
  canonical = false;
  /** The file's row template, once known. */
  template: RowTemplate | undefined;
  /** Per field, its key's index in the template (-1: not a key of the template's rows). */
  private at: Int32Array;
  private parsed: Record<string, unknown> | undefined;
  private tries = 0;
  /** Per field, mapped()'s last bytes (start -2: none) and result. */
  private readonly lastBuf: (Buffer | undefined)[];
  private readonly lastStart: Int32Array;
  private readonly lastEnd: Int32Array;
  private readonly lastMapped: unknown[];

  constructor(readonly fields: readonly string[]) {
    this.at = new Int32Array(fields.length).fill(-1);
    this.lastBuf = fields.map(() => undefined);
    this.lastStart = new Int32Array(fields.length).fill(-2);
    this.lastEnd = new Int32Array(fields.length);
    this.lastMapped = fields.map(() => undefined);
  }

  /** Takes the row at buf[p] in place when it is of the template and ends inside buf: returns its end, else -1. */
  match(buf: Buffer, p: number): number {
    const t = this.template;
    if (!t) return -1;
    const end = t.match(buf, p);
    if (end < 0) return -1;
    this.buf = buf;
    this.start = p;
    this.end = end;
    this.canonical = true;
    this.parsed = undefined;
    return end;
  }

  /** Reads the row buf[start, end) (a JSON object). */
  read(buf: Buffer, start: number, end: number): void {
    if (this.match(buf, start) === end) return;
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.canonical = false;
    const row = JSON.parse(buf.toString("utf8", start, end)) as Record<string, unknown>;
    this.parsed = row;
    if (this.template || this.tries >= TEMPLATE_TRIES) return;
    this.tries++;
    const t = RowTemplate.of(Object.keys(row));
    if (t && t.match(buf, start) === end) {
      this.template = t;
      this.at = Int32Array.from(this.fields, (f) => t.keys.indexOf(f));
      this.canonical = true;
      this.parsed = undefined;
    }
  }

  /** Field k's id among `ids` (equal values, read in place or parsed, get one id). */
  id(k: number, ids: ValueIds): number {
    if (!this.canonical) return ids.of(this.parsed![this.fields[k]!]);
    const j = this.at[k]!;
    if (j < 0) return ids.of(undefined);
    return ids.ofBytes(this.buf, this.template!.starts[j]!, this.template!.ends[j]!);
  }

  /** Field k's value, as JSON.parse gives it (undefined when the row lacks the key). */
  value(k: number): unknown {
    if (!this.canonical) return this.parsed![this.fields[k]!];
    const j = this.at[k]!;
    if (j < 0) return undefined;
    const s = this.template!.starts[j]!;
    return s < 0 ? null : this.buf.toString("latin1", s, this.template!.ends[j]!);
  }

  /**
   * fn(field k's value), computed again only when the field's bytes differ from those of the last call for this
   * field (neighbouring rows repeat values: times in time order); one fn per field. `ofBytes`, when given, is used
   * for a string read in place: it must give what fn gives for the string of those ASCII bytes, buf[start, end),
   * and saves making that string.
   */
  mapped<T>(k: number, fn: (value: unknown) => T, ofBytes?: (buf: Uint8Array, start: number, end: number) => T): T {
    const j = this.at[k]!;
    if (!this.canonical || j < 0) {
      this.lastStart[k] = -2;
      return fn(this.value(k));
    }
    const t = this.template!;
    const s = t.starts[j]!;
    const e = t.ends[j]!;
    const ls = this.lastStart[k]!;
    if (ls !== -2 && (s < 0 ? ls === -1 : ls >= 0 && sameBytes(this.buf, s, e, this.lastBuf[k]!, ls, this.lastEnd[k]!))) return this.lastMapped[k] as T;
    const out = s < 0 ? fn(null) : ofBytes ? ofBytes(this.buf, s, e) : fn(this.buf.toString("latin1", s, e));
    this.lastBuf[k] = this.buf;
    this.lastStart[k] = s;
    this.lastEnd[k] = e;
    this.lastMapped[k] = out;
    return out;
  }

  /** The row as JSON.parse gives it. */
  object(): Record<string, unknown> {
    return (this.parsed ??= JSON.parse(this.buf.toString("utf8", this.start, this.end)) as Record<string, unknown>);
  }
}

/**
 * Reads the rows of the top-level array `arrayKey` of a JSON object document: onRow is called with each row in
 * order (row.id(), row.value(), row.object(); the row object is reused). Returns the document with that array
 * emptied, parsed. `what` names the object in errors.
 */
export function readJsonRows(input: JsonInput, arrayKey: string, row: JsonRow, onRow: (row: JsonRow) => void, what: string): Promise<Record<string, unknown>> {
  return scanJsonArray(
    input,
    arrayKey,
    what,
    (buf, start, end) => {
      row.read(buf, start, end);
      onRow(row);
    },
    (buf, p) => {
      const end = row.match(buf, p);
      if (end >= 0) onRow(row);
      return end;
    },
  );
}

/**
 * The rows of the top-level array `arrayKey` of a JSON object document, in order, in batches of `size`, each row
 * as JSON.parse gives it, read as the bytes come: at most one batch of rows (and the chunk being read) is held,
 * never the document, its text or all its rows. The scan waits while a batch is being used. `onDocument` gets the
 * document with that array emptied (undefined for the key when there is none) before the last batch; what it
 * throws ends the batches. A consumer that stops early stops the scan.
 */
export async function* jsonRowBatches(
  input: JsonInput,
  arrayKey: string,
  what: string,
  size: number,
  onDocument?: (rest: Record<string, unknown>) => void,
): AsyncGenerator<unknown[]> {
  type Message = { rows: unknown[] } | { end: true } | { error: unknown };
  let deliver: ((m: Message) => void) | undefined;
  let ready: Message | undefined;
  let resume: (() => void) | undefined;
  let stopped = false;
  const send = (m: Message) =>
    new Promise<void>((res) => {
      resume = res;
      if (deliver) {
        const d = deliver;
        deliver = undefined;
        d(m);
      } else ready = m;
    });
  const receive = () =>
    new Promise<Message>((res) => {
      if (ready) {
        const m = ready;
        ready = undefined;
        res(m);
      } else deliver = res;
    });
  const STOP = new Error("stopped");
  let batch: unknown[] = [];
  void scanJsonArray(input, arrayKey, what, (buf, start, end) => {
    if (stopped) throw STOP;
    batch.push(JSON.parse(buf.toString("utf8", start, end)));
    if (batch.length < size) return;
    const full = batch;
    batch = [];
    return send({ rows: full });
  }).then(
    async (rest) => {
      onDocument?.(rest);
      if (batch.length) await send({ rows: batch });
      batch = [];
      void send({ end: true });
    },
    (error: unknown) => {
      if (error !== STOP) void send({ error });
    },
  ).catch((error: unknown) => void send({ error }));
  try {
    for (;;) {
      const m = await receive();
      if ("error" in m) throw m.error;
      if ("end" in m) return;
      yield m.rows;
      resume?.();
    }
  } finally {
    stopped = true;
    resume?.();
  }
}

/** FNV-1a of buf[start, end), mixed (int32 all along). */
function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = -2128831035; // 0x811c9dc5
  for (let k = start; k < end; k++) h = Math.imul(h ^ buf[k]!, 16777619);
  return h ^ (h >>> 15);
}

/** Distinct values up to which ValueIds compares with each rather than hashing. */
const SMALL = 8;

function sameBytes(buf: Uint8Array, s: number, e: number, other: Uint8Array, os: number, oe: number): boolean {
  if (e - s !== oe - os) return false;
  for (let k = 0; k < e - s; k++) if (buf[s + k] !== other[os + k]) return false;
  return true;
}

/** A value met as bytes and not yet turned into text. */
const LAZY = Symbol("lazy");
// eslint-disable-next-line no-control-regex
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/**
 * Gives the values of one column small numbers, shared by equal values (strings, null, anything). Values given as
 * bytes (ASCII) are looked up by their bytes (a hash table over a byte arena) and become text only when asked for
 * (value(), values), so a repeated value costs no string, and a column whose texts are never needed makes none.
 * Plain ASCII strings given as values share the byte table, so a value has one id whichever way it came. Ids are
 * given in order of first appearance.
 */
export class ValueIds {
  private readonly held: unknown[] = [];
  /** Per id met as bytes: its entry in the byte table (else -1). */
  private readonly entryOf = new IntList();
  private readonly ids = new Map<unknown, number>();
  /** Bytes of the distinct values met as bytes, and each one's [start, end) in the arena and its id. */
  private arena = Buffer.allocUnsafe(4096);
  private arenaUsed = 0;
  private slots = new Int32Array(64).fill(-1);
  private slotStart = new IntList();
  private slotEnd = new IntList();
  private slotId = new IntList();
  private prevBuf: Uint8Array | undefined;
  private prevStart = 0;
  private prevEnd = 0;
  private prevId = -1;
  /** Previous-value checks in the current round of 1,024 and their hits; -1: checks stopped. */
  private prevTries = 0;
  private prevHits = 0;

  /** Distinct values so far. */
  get size(): number {
    return this.held.length;
  }

  /** The value of an id. */
  value(id: number): unknown {
    const v = this.held[id];
    if (v !== LAZY) return v;
    const e = this.entryOf.get(id);
    return (this.held[id] = this.arena.toString("latin1", this.slotStart.get(e), this.slotEnd.get(e)));
  }

  /** Every value, by id. */
  get values(): unknown[] {
    for (let id = 0; id < this.held.length; id++) if (this.held[id] === LAZY) this.value(id);
    return this.held;
  }

  /** True when the id's value is a string (without making the text). */
  isString(id: number): boolean {
    const v = this.held[id];
    return v === LAZY || typeof v === "string";
  }

  /** Id of the string whose ASCII bytes are buf[start, end) (start = -1: null). */
  ofBytes(buf: Uint8Array, start: number, end: number): number {
    if (start < 0) return this.of(null);
    // The previous value again (rows in time order repeat their times): checked while it pays.
    if (this.prevBuf === buf && this.prevTries >= 0) {
      if (sameBytes(buf, start, end, buf, this.prevStart, this.prevEnd)) {
        this.prevHits++;
        return this.prevId;
      }
      if (++this.prevTries === 1024) this.prevTries = this.prevHits < 64 ? -1 : (this.prevHits = 0);
    }
    const known = this.slotId.length;
    if (known <= SMALL) {
      // Few distinct values so far (device ids, reader names): compare with each, no hashing.
      const slotStart = this.slotStart.data;
      const slotEnd = this.slotEnd.data;
      const arena = this.arena;
      const len = end - start;
      for (let e = 0; e < known; e++) {
        const s = slotStart[e]!;
        if (slotEnd[e]! - s !== len) continue;
        let k = 0;
        while (k < len && buf[start + k] === arena[s + k]) k++;
        if (k === len) return this.remembered(buf, start, end, this.slotId.data[e]!);
      }
    }
    const slot = this.find(buf, start, end);
    let id = slot < 0 ? -1 : this.slotId.get(this.slots[slot]!);
    if (id < 0) id = this.insert(buf, start, end, -slot - 1, LAZY);
    return this.remembered(buf, start, end, id);
  }

  /** Id of any value: plain ASCII strings by their bytes (as ofBytes), others by Map equality. */
  of(v: unknown): number {
    if (typeof v === "string" && PLAIN_ASCII.test(v)) {
      const bytes = Buffer.from(v, "latin1");
      const slot = this.find(bytes, 0, bytes.length);
      if (slot >= 0) return this.slotId.get(this.slots[slot]!);
      return this.insert(bytes, 0, bytes.length, -slot - 1, v);
    }
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.held.length;
      this.held.push(v);
      this.ids.set(v, id);
    }
    return id;
  }

  /** Slot holding the bytes' entry, or -(free slot) - 1. */
  private find(buf: Uint8Array, start: number, end: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    const arena = this.arena;
    const slotStart = this.slotStart.data;
    const slotEnd = this.slotEnd.data;
    const len = end - start;
    let i = hashBytes(buf, start, end) & mask;
    for (;;) {
      const e = slots[i]!;
      if (e < 0) return -i - 1;
      const s = slotStart[e]!;
      if (slotEnd[e]! - s === len) {
        let k = 0;
        while (k < len && buf[start + k] === arena[s + k]) k++;
        if (k === len) return i;
      }
      i = (i + 1) & mask;
    }
  }

  private remembered(buf: Uint8Array, start: number, end: number, id: number): number {
    this.prevBuf = buf;
    this.prevStart = start;
    this.prevEnd = end;
    this.prevId = id;
    return id;
  }

  /** New id for bytes not in the table (free slot given), holding `value` (LAZY: the bytes' text when asked). */
  private insert(buf: Uint8Array, start: number, end: number, slot: number, value: unknown): number {
    const id = this.held.length;
    this.held.push(value);
    const len = end - start;
    if (this.arenaUsed + len > this.arena.length) {
      const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + len));
      this.arena.copy(next, 0, 0, this.arenaUsed);
      this.arena = next;
    }
    const arena = this.arena;
    for (let k = 0, at = this.arenaUsed; k < len; k++) arena[at + k] = buf[start + k]!;
    const e = this.slotId.length;
    while (this.entryOf.length < id) this.entryOf.push(-1);
    this.entryOf.push(e);
    this.slotStart.push(this.arenaUsed);
    this.slotEnd.push(this.arenaUsed + len);
    this.slotId.push(id);
    this.arenaUsed += len;
    this.slots[slot] = e;
    if (this.slotId.length * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let e = 0; e < this.slotId.length; e++) {
      let i = hashBytes(this.arena, this.slotStart.get(e), this.slotEnd.get(e)) & mask;
      while (slots[i]! >= 0) i = (i + 1) & mask;
      slots[i] = e;
    }
    this.slots = slots;
  }
}

/** A growable Int32Array. */
export class IntList {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  get(i: number): number {
    return this.data[i]!;
  }
}

/** A sort key: per item, the id of its value among `ids` (item i's id is rowIds[i], or rowIds[rowOf[i]]). */
export interface SortKey {
  ids: ValueIds;
  rowIds: Int32Array;
}

/** Packed sort keys stay exact below 2^53. */
const MAX_EXACT = 2 ** 53;

/**
 * The order of n items sorted by their keys' values: ascending (strings in code-unit order, null and undefined
 * last), ties in item order (stable), as a comparison sort with that comparator gives. A key missing (undefined in
 * `keys`) sorts all items as equal. `rowOf` maps an item to the row whose ids it takes (several items may share a
 * row). Each distinct value is ranked once; the ranks and the item's position are packed into one number when they
 * fit, so the sort is a numeric typed-array sort.
 */
export function sortedOrder(keys: readonly (SortKey | undefined)[], n: number, rowOf?: Int32Array): Int32Array {
  const ranks = keys.map((key) => {
    if (!key) return { rank: new Int32Array(0), ids: undefined, size: 1 };
    const values = key.ids.values;
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
    return { rank, ids: key.rowIds, size: Math.max(1, r + 1) };
  });
  const rankOf = (k: number, o: number): number => {
    const rk = ranks[k]!;
    return rk.ids ? rk.rank[rk.ids[rowOf ? rowOf[o]! : o]!]! : 0;
  };
  let span = n;
  for (const r of ranks) span *= r.size;
  if (span < MAX_EXACT) {
    const packed = new Float64Array(n);
    for (let o = 0; o < n; o++) {
      let key = 0;
      for (let k = 0; k < ranks.length; k++) key = key * ranks[k]!.size + rankOf(k, o);
      packed[o] = key * n + o;
    }
    packed.sort();
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = packed[i]! % n;
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

/**
 * Writes many small ASCII pieces straight into large buffers (no joined strings, no second copy): add() and
 * addBytes() return a full buffer to pass on, take() the rest. json.dumps text is always ASCII (it escapes
 * everything else), so pieces are copied byte for byte.
 */
export class ByteBatcher {
  private buf: Buffer;
  private pos = 0;
  constructor(private readonly size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes waiting in the current buffer. */
  get length(): number {
    return this.pos;
  }

  add(text: string): Buffer | undefined {
    if (this.pos + text.length <= this.size) {
      this.pos += this.buf.write(text, this.pos, "latin1");
      return undefined;
    }
    const out = this.take();
    if (text.length > this.size) return Buffer.concat([out, Buffer.from(text, "latin1")]);
    this.pos = this.buf.write(text, 0, "latin1");
    return out;
  }

  /** add() of bytes (ASCII) already encoded: src[start, end). */
  addBytes(src: Uint8Array, start: number, end: number): Buffer | undefined {
    const len = end - start;
    if (this.pos + len <= this.size) {
      const buf = this.buf;
      if (len <= 64) {
        // Short pieces: a loop is cheaper than a copy call.
        let pos = this.pos;
        for (let k = start; k < end; k++) buf[pos++] = src[k]!;
        this.pos = pos;
      } else {
        buf.set(src.subarray(start, end), this.pos);
        this.pos += len;
      }
      return undefined;
    }
    const out = this.take();
    if (len > this.size) return Buffer.concat([out, src.subarray(start, end)]);
    this.buf.set(src.subarray(start, end), 0);
    this.pos = len;
    return out;
  }

  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    return out;
  }
}

/** json.dumps of one value (Python's defaults; see pyJson). */
export function jsonText(v: unknown): string {
  return typeof v === "string" && !NEEDS_ESCAPE.test(v) ? `"${v}"` : pyJson(v);
}

/**
 * Writes the rows of a JSON array as json.dumps writes them: each row `{"k1": v1, "k2": v2, ...}` with the keys
 * given once, rows separated by ", ", into large byte batches (ByteBatcher).
 */
export class JsonRowWriter {
  /** Per key, its text as the row's first key (`{"k": `) and after another (`, "k": `). */
  private readonly firstKey: string[];
  private readonly nextKey: string[];
  private readonly bytes: ByteBatcher;
  private first = true;

  constructor(keys: readonly string[], batchBytes = 1 << 20) {
    this.firstKey = keys.map((k) => `{${jsonText(k)}: `);
    this.nextKey = keys.map((k) => `, ${jsonText(k)}: `);
    this.bytes = new ByteBatcher(batchBytes);
  }

  /** Appends the row of values[i] under keys[i] (undefined: the key left out, as json.dumps never sees it). */
  row(values: readonly unknown[]): Buffer | undefined {
    const n = this.firstKey.length;
    let row = this.first ? "" : ", ";
    this.first = false;
    let started = false;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === undefined) continue;
      row += (started ? this.nextKey[i]! : this.firstKey[i]!) + (v === null ? "null" : typeof v === "string" && !NEEDS_ESCAPE.test(v) ? `"${v}"` : pyJson(v));
      started = true;
    }
    return this.bytes.add(started ? `${row}}` : `${row}{}`);
  }

  /** The bytes written since the last full batch. */
  take(): Buffer {
    return this.bytes.take();
  }
}
