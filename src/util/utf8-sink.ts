/**
 * A growing UTF-8 byte buffer for writers that produce a large text piece by piece (a day of JSON or CSV rows).
 * Pieces are gathered in a short string and encoded into the buffer every few tens of kilobytes, so no string of
 * the whole text is ever built: the pieces die young (cheap minor GC) and the bytes live outside the JS heap.
 */
const FLUSH_CHARS = 1 << 15;

export class Utf8Sink {
  private buf: Buffer;
  private len = 0;
  private pending = "";

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
  }

  write(text: string): void {
    this.pending += text;
    if (this.pending.length >= FLUSH_CHARS) this.flush();
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

  private flush(): void {
    const s = this.pending;
    if (s.length === 0) return;
    this.pending = "";
    // At most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
    const need = this.len + s.length * 3;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, need));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.len += this.buf.write(s, this.len, "utf8");
  }
}
