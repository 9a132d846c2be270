/**
 * Flat rows read straight from their bytes. The lake's Bluetooth files hold rows written by json.dumps with one
 * key order: `{"k1": "v1", "k2": null, ...}` with plain ASCII string values. A RowTemplate built from the keys
 * recognises such a row in place (no JSON.parse, no row object) and tells where each value lies; anything else
 * (other keys or order, other separators, numbers, escapes, non-ASCII text) is not recognised and the caller
 * falls back to JSON.parse for that row or file. A recognised row is exactly what json.dumps writes for its parsed
 * object, so its bytes can be copied through unchanged.
 */

const QUOTE = 34;
const BACKSLASH = 92;
const CLOSE_OBJ = 125;
const N = 110;
const U = 117;
const L = 108;

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;
/** 1 for the bytes a plain string value holds as is: printable ASCII but '"' and '\\'. */
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b <= 0x7e; b++) PLAIN[b] = b === QUOTE || b === BACKSLASH ? 0 : 1;

export class RowTemplate {
  /** Bytes before each value: `{"k1": `, then `, "k2": `, ... */
  private readonly keyBytes: Uint8Array[];
  /** Per key, after match(): the value's bytes [start, end) without quotes; start = -1 for null. */
  readonly starts: Int32Array;
  readonly ends: Int32Array;

  /** The key bytes one after the other, and where each key's bytes end. */
  private readonly keys8: Uint8Array;
  private readonly keyEnd: Int32Array;

  private constructor(readonly keys: readonly string[]) {
    this.keyBytes = keys.map((k, j) => Buffer.from(`${j === 0 ? "{" : ", "}"${k}": `, "latin1"));
    this.keys8 = Buffer.concat(this.keyBytes);
    this.keyEnd = new Int32Array(keys.length);
    let end = 0;
    this.keyBytes.forEach((k, j) => (this.keyEnd[j] = end += k.length));
    this.starts = new Int32Array(keys.length);
    this.ends = new Int32Array(keys.length);
  }

  /** A template for rows with these keys in this order; undefined when a key would need a JSON escape or repeats. */
  static of(keys: readonly string[]): RowTemplate | undefined {
    if (keys.length === 0 || new Set(keys).size !== keys.length || keys.some((k) => NEEDS_ESCAPE.test(k))) return undefined;
    return new RowTemplate(keys);
  }

  /** The template of a row's text when the text is a flat object of plain strings and nulls, else undefined. */
  static fromText(text: string): RowTemplate | undefined {
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof row !== "object" || row === null || Array.isArray(row)) return undefined;
    const t = RowTemplate.of(Object.keys(row));
    if (!t) return undefined;
    const buf = Buffer.from(text, "utf8");
    return t.match(buf, 0) === buf.length ? t : undefined;
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

  /** Value j of the last match: its text, or null. */
  value(buf: Buffer, j: number): string | null {
    const s = this.starts[j]!;
    return s < 0 ? null : buf.toString("latin1", s, this.ends[j]!);
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

/** buf[s, e) equals other[os, oe). */
export function sameBytes(buf: Uint8Array, s: number, e: number, other: Uint8Array, os: number, oe: number): boolean {
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
 * bytes are looked up by their bytes (a hash table over a byte arena) and become text only when asked for
 * (value(), values), so a repeated value costs no string, and a column whose texts are never needed (dev_addr is
 * only numbered) makes none. Plain ASCII strings given as values share the byte table, so a value has one id
 * whichever way it came.
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

  /** Id of a value given as bytes (start = -1: null). */
  ofBytes(buf: Buffer, start: number, end: number): number {
    if (start < 0) return this.of(null);
    // The previous value again (times in time order): checked while it pays (dev_addr values seldom repeat).
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

  private remembered(buf: Buffer, start: number, end: number, id: number): number {
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
