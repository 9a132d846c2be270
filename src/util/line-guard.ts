/**
 * Lines of an input text that cannot be read as they are: invalid UTF-8 (decoding would silently turn it into
 * U+FFFD) and lines longer than a limit (one 50 MB line would be held, split and copied whole). Each such line is
 * reported with its line number and blanked (its bytes removed, its line end kept), so a reader after the guard
 * skips it as a blank line and every other line keeps its number. Nothing is decoded here.
 *
 * For a whole buffer: `guardBuffer` (the clean case, nearly always, is one validity check and one scan for line
 * ends, and returns the buffer itself). For a stream: `guardStream`, which never holds more than the limit plus a
 * chunk: a line that grows past the limit is dropped as it streams.
 */
import { isUtf8 } from "node:buffer";

export type LineProblemKind = "invalid UTF-8" | "line too long";

export interface LineProblem {
  /** 1-based line (LF-separated). */
  line: number;
  kind: LineProblemKind;
  /** Bytes of the line (for a long line: at least the limit). */
  bytes: number;
  /** The first bytes of the line as Latin-1 text with control and non-ASCII bytes escaped (for the report). */
  preview: string;
}

export interface LineGuardOptions {
  /** Longest accepted line in bytes, line end excluded. */
  maxLineBytes: number;
  onProblem(problem: LineProblem): void;
}

export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
const LF = 10;
const CR = 13;
const PREVIEW = 80;

function preview(bytes: Uint8Array, s: number, e: number): string {
  let out = "";
  for (let i = s; i < Math.min(e, s + PREVIEW); i++) {
    const b = bytes[i]!;
    out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return e - s > PREVIEW ? `${out}…` : out;
}

/** Length of [s, e) without a final CR. */
function lineLength(bytes: Uint8Array, s: number, e: number): number {
  return e > s && bytes[e - 1] === CR ? e - s - 1 : e - s;
}

/**
 * The buffer with its unreadable lines blanked (the same buffer when every line is readable). `firstLine` numbers
 * the buffer's first line (streams pass on from chunk to chunk).
 */
export function guardBuffer(data: Uint8Array, opts: LineGuardOptions, firstLine = 1): Buffer {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const valid = isUtf8(bytes);
  let longest = 0;
  if (valid) {
    let pos = 0;
    while (pos <= bytes.length) {
      let nl = bytes.indexOf(LF, pos);
      if (nl < 0) nl = bytes.length;
      if (nl - pos > longest) longest = nl - pos;
      pos = nl + 1;
    }
    if (longest <= opts.maxLineBytes) return bytes;
  }
  // Some line is bad: copy the good ones, blank the bad ones.
  const parts: Buffer[] = [];
  let pos = 0;
  let line = firstLine;
  while (pos < bytes.length) {
    const nl = bytes.indexOf(LF, pos);
    const end = nl < 0 ? bytes.length : nl;
    const len = lineLength(bytes, pos, end);
    const kind: LineProblemKind | undefined = len > opts.maxLineBytes ? "line too long" : !isUtf8(bytes.subarray(pos, pos + len)) ? "invalid UTF-8" : undefined;
    if (kind) {
      opts.onProblem({ line, kind, bytes: len, preview: preview(bytes, pos, pos + len) });
      if (nl >= 0) parts.push(bytes.subarray(pos + len, nl + 1)); // keep the line end (CR LF or LF)
    } else {
      parts.push(bytes.subarray(pos, nl < 0 ? end : nl + 1));
    }
    line++;
    if (nl < 0) break;
    pos = nl + 1;
  }
  return Buffer.concat(parts);
}

/**
 * The stream with its unreadable lines blanked, chunk by chunk (complete lines only; a partial line waits for its
 * end, up to the limit: past it the line is reported once and its bytes dropped until its end).
 */
export async function* guardStream(input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, opts: LineGuardOptions): AsyncGenerator<Buffer> {
  let line = 1;
  let carry: Buffer | undefined;
  /** Inside a line already reported as too long: its bytes so far, and its first bytes for the report. */
  let skipping: { bytes: number; head: string } | undefined;
  const countLines = (b: Buffer) => {
    let n = 0;
    for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) n++;
    return n;
  };
  for await (const piece of input) {
    let chunk = typeof piece === "string" ? Buffer.from(piece, "utf8") : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (skipping) {
      const nl = chunk.indexOf(LF);
      if (nl < 0) {
        skipping.bytes += chunk.length;
        continue;
      }
      skipping.bytes += nl;
      opts.onProblem({ line, kind: "line too long", bytes: skipping.bytes, preview: skipping.head });
      skipping = undefined;
      line++;
      yield chunk.subarray(nl, nl + 1); // the line end stays: the line reads as blank
      chunk = chunk.subarray(nl + 1);
    }
    const data = carry ? Buffer.concat([carry, chunk]) : chunk;
    carry = undefined;
    const lastNl = data.lastIndexOf(LF);
    const whole = lastNl < 0 ? data.subarray(0, 0) : data.subarray(0, lastNl + 1);
    const tail = lastNl < 0 ? data : data.subarray(lastNl + 1);
    if (whole.length) {
      const out = guardBuffer(whole, opts, line);
      line += countLines(whole);
      if (out.length) yield out;
    }
    if (tail.length > opts.maxLineBytes) {
      skipping = { bytes: tail.length, head: preview(tail, 0, tail.length) };
    } else if (tail.length) {
      carry = Buffer.from(tail); // its own copy: the chunk may be reused by the reader
    }
  }
  if (skipping) opts.onProblem({ line, kind: "line too long", bytes: skipping.bytes, preview: skipping.head });
  else if (carry) {
    const out = guardBuffer(carry, opts, line);
    if (out.length) yield out;
  }
}
