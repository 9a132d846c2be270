/**
 * The three Bluetooth (AWAM) file types (original §9.1): IAF "unmatched", ITMF "matched", TMSR
 * "traf_match_summary"; their share filenames, lake exts, headerless column lists and timestamp columns.
 */
import type { FilePattern } from "../../support/last-update.js";

export const BT_FILE_TYPES = ["unmatched", "matched", "traf_match_summary"] as const;
export type BtFileType = (typeof BT_FILE_TYPES)[number];

/** Base of every Bluetooth object (the original's UNIT_LOCATION). */
export const BT_BASE = "Austin";

/** Share filenames: prefix + MM-dd-yyyy + ".txt" (local dates). Order = the original's pattern order. */
export const SHARE_PATTERNS: readonly FilePattern[] = [
  { prefix: "Austin_bt_", dateFormat: "MM-dd-yyyy", postfix: ".txt", base: BT_BASE, ext: "unmatched.txt" },
  { prefix: "Austin_btmatch_", dateFormat: "MM-dd-yyyy", postfix: ".txt", base: BT_BASE, ext: "matched.txt" },
  { prefix: "Austin_bt_summary_15_", dateFormat: "MM-dd-yyyy", postfix: ".txt", base: BT_BASE, ext: "traf_match_summary.txt" },
];

/** Share filename of a file type and day (the simulator writes these). */
export function shareFilename(fileType: BtFileType, day: { toFormat(f: string): string }): string {
  const p = SHARE_PATTERNS[BT_FILE_TYPES.indexOf(fileType)]!;
  return `${p.prefix}${day.toFormat(p.dateFormat)}${p.postfix}`;
}

/** File type of a lake ext ("unmatched.txt", "matched.json", ...), or undefined for anything else. */
export function fileTypeOf(ext: string, suffix: "txt" | "json"): BtFileType | undefined {
  const dot = ext.indexOf(".");
  if (dot < 0 || ext.slice(dot + 1) !== suffix) return undefined;
  const t = ext.slice(0, dot);
  return (BT_FILE_TYPES as readonly string[]).includes(t) ? (t as BtFileType) : undefined;
}

export const RAW_COLUMNS: Record<BtFileType, readonly string[]> = {
  unmatched: ["host_timestamp", "ip_address", "field_timestamp", "reader_id", "dev_addr"],
  matched: ["dev_addr", "origin_reader_id", "dest_reader_id", "start_time", "end_time", "travel_time_secs", "speed", "match_validity", "filter_id"],
  traf_match_summary: [
    "origin_reader_id",
    "dest_reader_id",
    "origin_road",
    "origin_cross_st",
    "origin_dir",
    "dest_road",
    "dest_cross_st",
    "dest_dir",
    "seg_length",
    "timestamp",
    "avg_travel_time",
    "avg_speed",
    "interval",
    "samples",
    "std_dev",
  ],
};

/** Timestamp columns and whether their text carries seconds (`M/D/YYYY h:mm:ss AM`) or not (`M/D/YYYY h:mm AM`). */
export const TIME_COLUMNS: Record<BtFileType, { columns: readonly string[]; seconds: boolean }> = {
  unmatched: { columns: ["host_timestamp", "field_timestamp"], seconds: true },
  matched: { columns: ["start_time", "end_time"], seconds: true },
  traf_match_summary: { columns: ["timestamp"], seconds: false },
};

/** Ready-layer sort keys (original §9.1.3). */
export const READY_SORT: Record<BtFileType, readonly string[]> = {
  unmatched: ["host_timestamp", "reader_id"],
  matched: ["start_time", "origin_reader_id", "dest_reader_id"],
  traf_match_summary: ["timestamp", "origin_reader_id", "dest_reader_id"],
};
