/**
 * Object naming (original §3.1): `<base>_<ds>_<YYYY-MM-DD>` + ("_" when ext contains a dot, else ".") + ext,
 * key `YYYY/MM/DD/<ds>/<filename>`. Base and ext are validated: they become path segments.
 */
import type { DateTime } from "luxon";
import { TerminalError } from "./errors.js";

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Rejects a base or ext that could escape its folder or break a key: "/", "\", "..", control characters, empty. */
export function validateIdPart(kind: "base" | "ext" | "data source", value: string): string {
  const problem =
    typeof value !== "string" || value.length === 0
      ? "is empty"
      : /[\\/]/.test(value)
        ? "contains a path separator"
        : value.includes("..")
          ? 'contains ".."'
          : CONTROL.test(value)
            ? "contains a control character"
            : undefined;
  if (problem) {
    throw new TerminalError(
      `Invalid ${kind} ${JSON.stringify(value)}: it ${problem}; ${kind} names become part of storage keys, so use plain names`,
    );
  }
  return value;
}

export function makeFilename(base: string, dataSource: string, ext: string, date: DateTime): string {
  validateIdPart("base", base);
  validateIdPart("ext", ext);
  const sep = ext.includes(".") ? "_" : ".";
  return `${base}_${dataSource}_${date.toFormat("yyyy-MM-dd")}${sep}${ext}`;
}

export function makeKey(dataSource: string, date: DateTime, filename: string): string {
  validateIdPart("data source", dataSource);
  return `${date.toFormat("yyyy/MM/dd")}/${dataSource}/${filename}`;
}

/** Last "/" segment of a key. */
export function keyFilename(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? key : key.slice(i + 1);
}
