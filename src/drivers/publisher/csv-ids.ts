/**
 * The `csv` publisher's row index: row id → 53-bit hash of the row's line, in flat typed arrays (open addressing,
 * linear probing). An id is kept as a 64-bit hash of its UTF-8 bytes, not as a string, so the index costs 16 bytes
 * per slot (at most three quarters of the slots used: 21–43 bytes per row, 8 MiB for 300,000 rows), holds no JavaScript
 * objects for the garbage collector to trace, and does not grow with the width of the rows.
 *
 * Two different ids share a 64-bit hash with a probability of about n² / 2^65 (3 × 10^-9 for a million rows); the
 * driver stays correct for the rows it writes even then, because the file, not the index, decides where a row is
 * (a row the index took for an existing one is appended when the rewrite does not find it).
 */

/** Slots of a new table; it doubles when three quarters full. */
const INITIAL_SLOTS = 1 << 10;

let h1 = 0;
let h2 = 0;

/** 64-bit hash (two 32-bit lanes, cyrb53's mixing) of `bytes[start, end)` into h1/h2; h2 is never 0 (the empty mark). */
function hashBytes(bytes: Uint8Array, start: number, end: number): void {
  let a = 0xdeadbeef ^ (end - start);
  let b = 0x41c6ce57;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  h1 = a >>> 0;
  h2 = b >>> 0 || 1;
}

const ASCII = /^[\x00-\x7f]*$/;

/** The same hash for an id given as a string (its UTF-8 bytes). */
function hashString(id: string): void {
  if (!ASCII.test(id)) {
    const b = Buffer.from(id, "utf8");
    hashBytes(b, 0, b.length);
    return;
  }
  let a = 0xdeadbeef ^ id.length;
  let b = 0x41c6ce57;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  h1 = a >>> 0;
  h2 = b >>> 0 || 1;
}

export class IdIndex {
  private keys = new Uint32Array(INITIAL_SLOTS * 2);
  private values = new Float64Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;
  /** Ids held. */
  size = 0;

  /** Bytes the index takes. */
  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** Slot of the hashed id in h1/h2, or the empty slot where it would go (keys[2 * slot + 1] === 0). */
  private find(): number {
    const keys = this.keys;
    let i = h1 & this.mask;
    for (;;) {
      const k2 = keys[2 * i + 1]!;
      if (k2 === 0 || (k2 === h2 && keys[2 * i] === h1)) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(id: string): number | undefined {
    hashString(id);
    const i = this.find();
    return this.keys[2 * i + 1] === 0 ? undefined : this.values[i];
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Whether the id in `bytes[start, end)` (its UTF-8 bytes) is held. */
  hasBytes(bytes: Uint8Array, start: number, end: number): boolean {
    hashBytes(bytes, start, end);
    return this.keys[2 * this.find() + 1] !== 0;
  }

  set(id: string, value: number): void {
    hashString(id);
    this.put(value);
  }

  /** Sets the id in `bytes[start, end)`. */
  setBytes(bytes: Uint8Array, start: number, end: number, value: number): void {
    hashBytes(bytes, start, end);
    this.put(value);
  }

  private put(value: number): void {
    let i = this.find();
    if (this.keys[2 * i + 1] === 0) {
      if ((this.size + 1) * 4 > this.values.length * 3) {
        const [a, b] = [h1, h2];
        this.grow();
        [h1, h2] = [a, b];
        i = this.find();
      }
      this.keys[2 * i] = h1;
      this.keys[2 * i + 1] = h2;
      this.size++;
    }
    this.values[i] = value;
  }

  delete(id: string): boolean {
    hashString(id);
    let i = this.find();
    const keys = this.keys;
    if (keys[2 * i + 1] === 0) return false;
    // backward-shift deletion: move later entries of the probe run into the hole so lookups never stop early
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      if (keys[2 * j + 1] === 0) break;
      const home = keys[2 * j]! & this.mask;
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (between) continue;
      keys[2 * i] = keys[2 * j]!;
      keys[2 * i + 1] = keys[2 * j + 1]!;
      this.values[i] = this.values[j]!;
      i = j;
    }
    keys[2 * i] = 0;
    keys[2 * i + 1] = 0;
    this.size--;
    return true;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const slots = oldValues.length * 2;
    this.keys = new Uint32Array(slots * 2);
    this.values = new Float64Array(slots);
    this.mask = slots - 1;
    for (let s = 0; s < oldValues.length; s++) {
      if (oldKeys[2 * s + 1] === 0) continue;
      h1 = oldKeys[2 * s]!;
      h2 = oldKeys[2 * s + 1]!;
      const i = this.find();
      this.keys[2 * i] = h1;
      this.keys[2 * i + 1] = h2;
      this.values[i] = oldValues[s]!;
    }
  }
}
