/**
 * Reading a GRIDSMART counts archive (original gs_investigate, §9.3.2) from bytes, in memory: plain archives with
 * node's zlib, any other with fflate.
 *
 * Layout: a top-level folder named after the camera MAC ("00-30-53-26-e6-e1"), then either
 *  - Type A: a date folder ("2019-06-01/") holding one "<GUID>.csv" per zone, or
 *  - Type B: an inner zip ("2019-06-01.zip") whose root holds the "<GUID>.csv" files.
 * Several MAC folders (several cameras) are all read.
 *
 * The archive comes from a field device, so it is untrusted: an entry whose name is absolute, has a drive letter,
 * a ".." segment or a control character fails the archive; declared sizes are checked before anything is inflated
 * (per entry and in total, inner zips included), inflating never goes past the declared size, and the actual
 * bytes must have the declared size and CRC-32 (a lying size is caught: zip bombs, truncated or altered entries).
 */
import { crc32, inflateRawSync } from "node:zlib";
import { strFromU8, unzipSync, type UnzipFileInfo } from "fflate";
import { TerminalError } from "../../support/errors.js";

export interface ZipLimits {
  /** Largest total of uncompressed bytes across all entries (inner zip included). */
  maxTotalBytes: number;
  /** Largest number of entries. */
  maxEntries: number;
  /** Largest compression ratio (uncompressed / compressed) of one entry. */
  maxRatio: number;
}

/** GRIDSMART day archives are a few MiB; 512 MiB uncompressed is far beyond any real day. */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxTotalBytes: 512 * 1024 * 1024, maxEntries: 10_000, maxRatio: 1_000 };

export interface ZoneCsv {
  /** Zone GUID as the file is named (dashed on real devices). */
  guid: string;
  /** "<GUID>.csv" */
  filename: string;
  /** Path inside the archive (for messages). */
  path: string;
  data: Uint8Array;
}

export interface CountsArchive {
  layout: "A" | "B";
  /** MAC folders found, in name order. */
  cameras: string[];
  /** Date named by the date folder or inner zip ("2019-06-01"). */
  day: string;
  /** Zone files in name order. */
  zones: ZoneCsv[];
}

const MAC_DIR = /^..-..-..-..-..-../;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why an entry name is unsafe, or undefined when it is a plain relative path. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (CONTROL.test(name)) return "contains a control character";
  const n = name.replace(/\\/g, "/");
  if (n.startsWith("/")) return "is an absolute path";
  if (/^[A-Za-z]:/.test(n)) return "starts with a drive letter";
  if (n.split("/").some((seg) => seg === "..")) return 'climbs out of the archive folder with ".."';
  return undefined;
}

/** CRC-32 of each entry from the central directory (name → crc); empty when it cannot be read. */
function centralCrcs(b: Uint8Array): Map<string, number> {
  const out = new Map<string, number>();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let e = b.length - 22;
  while (e >= 0 && dv.getUint32(e, true) !== 0x06054b50) e--;
  if (e < 0) return out;
  const count = dv.getUint16(e + 10, true);
  let o = dv.getUint32(e + 16, true);
  for (let i = 0; i < count && o + 46 <= b.length; i++) {
    if (dv.getUint32(o, true) !== 0x02014b50) break;
    const flag = dv.getUint16(o + 8, true);
    const crc = dv.getUint32(o + 16, true);
    const nameLen = dv.getUint16(o + 28, true);
    const extraLen = dv.getUint16(o + 30, true);
    const commentLen = dv.getUint16(o + 32, true);
    const name = strFromU8(b.subarray(o + 46, o + 46 + nameLen), !(flag & 2048));
    out.set(name, crc);
    o += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

class Budget {
  used = 0;
  entries = 0;
  constructor(readonly limits: ZipLimits) {}
}

/** The entry check run on every entry, in archive order, before anything is inflated; false skips the entry. */
function entryFilter(where: string, budget: Budget, declared: Map<string, number>) {
  return (f: UnzipFileInfo): boolean => {
    const problem = unsafeEntryName(f.name);
    if (problem) throw new TerminalError(`${where}: entry ${JSON.stringify(f.name)} ${problem}; the archive is refused`);
    budget.entries++;
    if (budget.entries > budget.limits.maxEntries) {
      throw new TerminalError(`${where}: more than ${budget.limits.maxEntries} entries; the archive is refused (sources.gs.zipMaxEntries)`);
    }
    if (f.name.endsWith("/")) return false;
    budget.used += f.originalSize;
    if (budget.used > budget.limits.maxTotalBytes) {
      throw new TerminalError(`${where}: entries declare more than ${budget.limits.maxTotalBytes} uncompressed bytes; the archive is refused (sources.gs.zipMaxBytes)`);
    }
    if (f.size > 0 && f.originalSize / f.size > budget.limits.maxRatio) {
      throw new TerminalError(`${where}: entry ${f.name} expands ${Math.round(f.originalSize / f.size)}-fold; the archive is refused as a zip bomb`);
    }
    declared.set(f.name, f.originalSize);
    return true;
  };
}

/** Thrown inside nativeUnzip when the archive is anything but plain: fflate then reads it (and words any error). */
class NotPlain extends Error {}

/**
 * The common case read with node's zlib (several times faster than fflate's inflate): a plain archive (no zip64,
 * entries stored or deflated, every deflated stream complete and exactly its declared size, names unique), read
 * from the central directory as fflate reads it, with the same entry checks called in the same order. Anything
 * else throws NotPlain (TerminalErrors of the checks pass through) and the archive is read again with fflate.
 */
function nativeUnzip(b: Uint8Array, filter: (f: UnzipFileInfo) => boolean): Record<string, Uint8Array> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let e = b.length - 22;
  if (e < 0) throw new NotPlain();
  while (dv.getUint32(e, true) !== 0x06054b50) {
    if (!e || b.length - e > 65558) throw new NotPlain();
    e--;
  }
  const count = dv.getUint16(e + 8, true);
  let o = dv.getUint32(e + 16, true);
  if (o === 0xffffffff || count === 0xffff) throw new NotPlain();
  const files: Record<string, Uint8Array> = {};
  const names = new Set<string>();
  for (let i = 0; i < count; i++) {
    if (o + 46 > b.length || dv.getUint32(o, true) !== 0x02014b50) throw new NotPlain();
    const flag = dv.getUint16(o + 8, true);
    const method = dv.getUint16(o + 10, true);
    const size = dv.getUint32(o + 20, true);
    const originalSize = dv.getUint32(o + 24, true);
    const nameLen = dv.getUint16(o + 28, true);
    const local = dv.getUint32(o + 42, true);
    if (o + 46 + nameLen > b.length || size === 0xffffffff || originalSize === 0xffffffff || local === 0xffffffff) throw new NotPlain();
    const name = strFromU8(b.subarray(o + 46, o + 46 + nameLen), !(flag & 2048));
    o += 46 + nameLen + dv.getUint16(o + 30, true) + dv.getUint16(o + 32, true);
    if (names.has(name)) throw new NotPlain();
    names.add(name);
    if (!filter({ name, size, originalSize, compression: method })) continue;
    if (local + 30 > b.length || dv.getUint32(local, true) !== 0x04034b50) throw new NotPlain();
    const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    if (start + size > b.length) throw new NotPlain();
    const raw = b.subarray(start, start + size);
    let data: Uint8Array;
    if (method === 0) data = raw.slice();
    else if (method === 8) {
      try {
        const out = inflateRawSync(raw, { maxOutputLength: originalSize + 1 });
        data = new Uint8Array(out.buffer, out.byteOffset, out.byteLength); // a plain view, as fflate gives
      } catch {
        throw new NotPlain();
      }
    } else throw new NotPlain();
    if (data.byteLength !== originalSize) throw new NotPlain();
    files[name] = data;
  }
  return files;
}

/** Unzips with every entry name and size checked first. */
function safeUnzip(bytes: Uint8Array, where: string, budget: Budget): Record<string, Uint8Array> {
  let declared = new Map<string, number>();
  let files: Record<string, Uint8Array> | undefined;
  const before = { used: budget.used, entries: budget.entries };
  try {
    files = nativeUnzip(bytes, entryFilter(where, budget, declared));
  } catch (err) {
    if (!(err instanceof NotPlain)) throw err;
    budget.used = before.used;
    budget.entries = before.entries;
    declared = new Map();
  }
  if (!files) {
    try {
      files = unzipSync(bytes, { filter: entryFilter(where, budget, declared) });
    } catch (err) {
      if (err instanceof TerminalError) throw err;
      throw new TerminalError(`${where}: not a readable zip archive (${(err as Error).message}); the device sent a corrupt file, re-ingest that day`, {
        cause: err,
      });
    }
  }
  const crcs = centralCrcs(bytes);
  for (const [name, data] of Object.entries(files)) {
    // fflate inflates into a buffer of the declared size: a longer stream is cut (caught by the CRC), a shorter one is short.
    if (data.byteLength !== declared.get(name)) {
      throw new TerminalError(`${where}: entry ${name} holds ${data.byteLength} bytes but declares ${declared.get(name)}; the archive is corrupt`);
    }
    const crc = crcs.get(name);
    if (crc !== undefined && crc32(data) >>> 0 !== crc >>> 0) {
      throw new TerminalError(`${where}: entry ${name} fails its CRC-32 check (its content or declared size is wrong); the archive is corrupt`);
    }
  }
  return files;
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function zoneFrom(path: string, data: Uint8Array): ZoneCsv | undefined {
  const filename = path.slice(path.lastIndexOf("/") + 1);
  if (!/\.csv$/i.test(filename)) return undefined;
  return { guid: filename.slice(0, -4), filename, path, data };
}

/**
 * The zone CSVs of a counts archive. TerminalError (naming the archive) for a corrupt or unsafe archive, an
 * archive without a MAC folder, or a MAC folder with neither a date folder nor an inner zip.
 */
export function readCountsArchive(bytes: Uint8Array, where: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): CountsArchive {
  const budget = new Budget(limits);
  const files = safeUnzip(bytes, where, budget);
  const names = Object.keys(files).map((n) => n.replace(/\\/g, "/"));
  const byName = new Map(Object.entries(files).map(([k, v]) => [k.replace(/\\/g, "/"), v]));
  const cameras = sortedUnique(names.filter((n) => n.includes("/")).map((n) => n.slice(0, n.indexOf("/")))).filter((d) => MAC_DIR.test(d));
  if (cameras.length === 0) {
    throw new TerminalError(`${where}: no camera folder (named like a MAC address, "00-30-53-26-e6-e1") in the archive`);
  }
  let layout: "A" | "B" | undefined;
  let day = "";
  const zones: ZoneCsv[] = [];
  const seen = new Set<string>();
  const add = (z: ZoneCsv) => {
    if (seen.has(z.guid)) throw new TerminalError(`${where}: zone ${z.guid} appears twice (${z.path})`);
    seen.add(z.guid);
    zones.push(z);
  };
  for (const mac of cameras) {
    const inside = names.filter((n) => n.startsWith(`${mac}/`)).map((n) => n.slice(mac.length + 1));
    const subdirs = sortedUnique(inside.filter((n) => n.includes("/")).map((n) => n.slice(0, n.indexOf("/"))));
    if (subdirs.length > 0) {
      // Type A: the first date folder (original: first listed).
      const dateDir = subdirs[0]!;
      layout ??= "A";
      day ||= dateDir;
      const prefix = `${mac}/${dateDir}/`;
      for (const n of names.filter((x) => x.startsWith(prefix) && !x.slice(prefix.length).includes("/")).sort()) {
        const z = zoneFrom(n, byName.get(n)!);
        if (z) add(z);
      }
      continue;
    }
    const inner = inside.filter((n) => n.toLowerCase().endsWith(".zip")).sort()[0];
    if (!inner) throw new TerminalError(`${where}: camera folder ${mac} holds neither a date folder nor a day zip (secondary file or directory not found)`);
    layout ??= "B";
    day ||= inner.slice(0, -4);
    const innerFiles = safeUnzip(byName.get(`${mac}/${inner}`)!, `${where} → ${mac}/${inner}`, budget);
    for (const n of Object.keys(innerFiles).sort()) {
      if (n.replace(/\\/g, "/").includes("/")) continue; // zone files sit at the inner zip's root
      const z = zoneFrom(`${mac}/${inner}/${n}`, innerFiles[n]!);
      if (z) add(z);
    }
  }
  return { layout: layout!, cameras, day, zones };
}
