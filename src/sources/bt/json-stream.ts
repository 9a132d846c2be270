/**
 * Streaming read and write of the lake's large JSON documents ({"header": …, "data": [rows…], …}), so a day of
 * Bluetooth rows is never held twice (never as one text plus its parsed objects).
 *
 * Reading: scanJsonArray() walks the bytes once, hands each element of one top-level array to a callback as text,
 * and returns the rest of the document (that array emptied) parsed. Strings are skipped with indexOf, so the cost is
 * close to one pass over the bytes. Writing: jsonValue() is Python json.dumps of one value with a fast path for
 * plain ASCII strings (the common case), falling back to pyJson.
 */
import { TerminalError } from "../../support/errors.js";
import { pyJson } from "../../util/pyjson.js";

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * Scans a JSON object document; every element of the top-level array `arrayKey` is passed to onElement as its JSON
 * text (objects and arrays only; a returned promise is awaited before reading on). Returns the document with that array emptied, parsed. `what` names the object in
 * errors.
 */
export async function scanJsonArray(
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  arrayKey: string,
  onElement: (text: string) => void | Promise<void>,
  what: string,
  /** When given, elements that lie whole inside one input chunk are handed over together as a byte range. */
  onRun?: (buf: Buffer, start: number, end: number, count: number) => void | Promise<void>,
  /**
   * When given, called at the "{" of each element: it may take the element itself (a flat row it recognises whole
   * inside the chunk) and return the index just past its "}", or return -1 to leave it to the generic scan (then
   * it reaches onElement or onRun as usual). Elements keep their order only without onRun.
   */
  fastElement?: (buf: Buffer, start: number) => number,
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
    let runStart = -1;
    let runEnd = -1;
    let runCount = 0;
    while (i < n) {
      if (inString) {
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
          if (fastElement && c === OPEN_OBJ) {
            const end = fastElement(buf, i);
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
        if (inArray && depth === 2 && elementStart >= 0 && onRun && elementPieces.length === 0) {
          if (runStart < 0) runStart = elementStart;
          runEnd = i + 1;
          runCount++;
          elementStart = -1;
        } else if (inArray && depth === 2 && elementStart >= 0) {
          elementPieces.push(buf.subarray(elementStart, i + 1));
          const text = elementPieces.length === 1 ? elementPieces[0]!.toString("utf8") : Buffer.concat(elementPieces).toString("utf8");
          elementPieces = [];
          elementStart = -1;
          const pending = onElement(text);
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
    if (runStart >= 0) {
      const pending = onRun!(buf, runStart, runEnd, runCount);
      if (pending) await pending;
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

/**
 * scanJsonArray() with the elements parsed, handed over in batches (one JSON.parse per input chunk rather than one
 * per element).
 */
export function scanJsonRows(
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  arrayKey: string,
  onRows: (rows: Record<string, unknown>[]) => void | Promise<void>,
  what: string,
): Promise<Record<string, unknown>> {
  return scanJsonArray(
    input,
    arrayKey,
    (text) => onRows([JSON.parse(text) as Record<string, unknown>]),
    what,
    (buf, start, end) => onRows(JSON.parse(`[${buf.toString("utf8", start, end)}]`) as Record<string, unknown>[]),
  );
}

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/** Python json.dumps of one value; plain ASCII strings skip the general encoder. */
export function jsonValue(v: unknown): string {
  if (typeof v === "string" && !NEEDS_ESCAPE.test(v)) return `"${v}"`;
  return pyJson(v);
}

/**
 * Writes many small text pieces straight into large buffers (no joined strings, no second copy): add() returns a
 * full buffer to pass on, take() the rest. Pieces must be ASCII, which json.dumps text always is (it escapes
 * everything else), so they are copied byte for byte.
 */
export class ByteBatcher {
  private buf: Buffer;
  /** Bytes written into `buffer` (callers of reserve() write there directly and advance it). */
  pos = 0;
  constructor(private readonly size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
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
  /** add() of bytes (ASCII) already encoded: buf[start, end). */
  addBytes(src: Buffer, start: number, end: number): Buffer | undefined {
    const len = end - start;
    if (this.pos + len <= this.size) {
      if (len <= 64) {
        // Short pieces: a loop is cheaper than Buffer.copy's call.
        const buf = this.buf;
        let pos = this.pos;
        for (let k = start; k < end; k++) buf[pos++] = src[k]!;
        this.pos = pos;
      } else this.pos += src.copy(this.buf, this.pos, start, end);
      return undefined;
    }
    const out = this.take();
    if (len > this.size) return Buffer.concat([out, src.subarray(start, end)]);
    this.pos = src.copy(this.buf, 0, start, end);
    return out;
  }
  /**
   * Makes room for n bytes at `pos` in `buffer`; returns the full buffer to pass on when a new one was started.
   */
  reserve(n: number): Buffer | undefined {
    if (this.pos + n <= this.buf.length) return undefined;
    const out = this.take();
    if (n > this.size) this.buf = Buffer.allocUnsafe(n);
    return out.length > 0 ? out : undefined;
  }
  get buffer(): Buffer {
    return this.buf;
  }
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    return out;
  }
}
