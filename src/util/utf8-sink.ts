/**
 * A growing UTF-8 byte buffer for writers that produce a large text piece by piece (a day of JSON or CSV rows).
 * Pieces are gathered in a short string and encoded into the buffer every few tens of kilobytes, so no string of
 * the whole text is ever built: the pieces die young (cheap minor GC) and the bytes live outside the JS heap.
 * Writers that copy fields straight from input bytes (bytes()) mix them with short ASCII pieces, which then go
 * into the buffer at once: encoding a few characters through Buffer.write costs more than copying them.
 */
const FLUSH_CHARS = 1 << 15;
/** A piece up to this long, written when nothing is pending, is copied a character at a time while it is ASCII. */
const DIRECT_CHARS = 64;

export class Utf8Sink {
  private buf: Buffer;
  private len = 0;
  private pending = "";

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  write(text: string): void {
    if (this.pending.length === 0 && text.length <= DIRECT_CHARS) {
      const n = text.length;
      this.reserve(n);
      const b = this.buf;
      let p = this.len;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      this.len = p;
      if (i === n) return;
      text = text.slice(i);
    }
    this.pending += text;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
  }

  /** Appends src[start, end), bytes that are UTF-8 already (a field of an input file). */
  bytes(src: Uint8Array, start = 0, end = src.length): void {
    if (this.pending.length !== 0) this.flush();
    const n = end - start;
    if (this.len + n > this.buf.length) this.reserve(n);
    const b = this.buf;
    let p = this.len;
    for (let i = start; i < end; i++) b[p++] = src[i]!;
    this.len = p;
  }

  /** Bytes written so far (pending pieces included once flushed). */
  get byteLength(): number {
    this.flush();
    return this.len;
  }

  /** The bytes written, as a view of the internal buffer (valid until the next write). */
  toBuffer(): Buffer {
    this.flush();
    return this.buf.subarray(0, this.len);
  }

  toString(): string {
    return this.toBuffer().toString("utf8");
  }

  /** Room for n more bytes. */
  private reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, need));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private flush(): void {
    const s = this.pending;
    if (s.length === 0) return;
    this.pending = "";
    // At most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
    this.reserve(s.length * 3);
    this.len += this.buf.write(s, this.len, "utf8");
  }
}
