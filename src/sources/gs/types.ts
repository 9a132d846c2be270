/**
 * GRIDSMART shapes shared by every GS stage (original §9.3). The standardized zone JSON (one per zone GUID per day)
 * and the site file (raw, copied unchanged into standardized) are the contract between gs-json-standard and
 * gs-ready; keep their key order: files are written with Python's json.dumps conventions (§0.4).
 */
import type { PyFloat } from "../../util/pyjson.js";


/** Identifier exts (original §0.3). A zone file's ext is `<dashed GUID>.json` (zoneExt). */
export const GS_EXT = {
  zip: "zip",
  site: "site.json",
  unitData: "unit_data.json",
} as const;

/** Ext of the standardized JSON of one zone: "<8-4-4-4-12 GUID>.json". */
export function zoneExt(dashedGuid: string): string {
  return `${dashedGuid}.json`;
}

/** Site `Vehicle.Id` (32 hex, sometimes already dashed) → 8-4-4-4-12 form, lower-case kept as given. */
export function dashGuid(id: string): string {
  if (id.includes("-")) return id;
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
}

/** Intersection base from the device's site streets: "Street1_Street2" with "/" → "&" (original §9.3.1). */
export function siteBase(street1: string | null | undefined, street2: string | null | undefined): string {
  return `${street1 ?? ""}_${street2 ?? ""}`.replace(/\//g, "&");
}

// ------------------------------------------------------------------ device API shapes (as the device returns them)

/** One zone mask of a camera; only zones with a Vehicle part count. */
export interface GsZoneMask {
  Vehicle?: {
    /** 32 hex digits (undashed) on real devices. */
    Id: string;
    ApproachType: string;
    TurnType: string;
    IncludeInData?: boolean;
    Name?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface GsCameraDevice {
  Fisheye: {
    MACAddress: string;
    Name?: string;
    IsConfigured?: boolean;
    CameraMasks: { ZoneMasks: GsZoneMask[]; [key: string]: unknown };
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** `GET /api/site.json` (only the keys the lake uses are typed; everything is kept as returned). */
export interface GsSite {
  Id?: string;
  Location: {
    Street1: string;
    Street2: string;
    Latitude: number;
    Longitude: number;
    [key: string]: unknown;
  };
  CameraDevices: GsCameraDevice[];
  [key: string]: unknown;
}

/**
 * `GET /api/datetime.json` reduced to these three keys. DateTime is the device's wall clock ("6/3/2019 2:32:13 AM"),
 * TimeZoneId its zone display name ("(UTC-06:00) Central Time (US & Canada)"), HostTimeUTC the ingesting host's
 * UTC clock at the same moment ("06/03/2019 07:34:06 AM").
 */
export interface GsDateTime {
  DateTime: string;
  TimeZoneId: string;
  HostTimeUTC: string;
}

// ------------------------------------------------------------------ lake files

/** Site file (raw `<base>_gs_<day>_site.json`, copied unchanged into standardized). */
export interface GsSiteFile {
  header: {
    data_type: "gs_site";
    /** "<base>_site_<YYYY-MM-DD>.json" (the original's name; the storage key follows the lake naming). */
    target_filename: string;
    /** Local midnight of the day it was captured, Python str() form. */
    collection_date: string;
    /** Device IP address it was read from (used by gs-ready's IP match). */
    device_net_addr: string;
  };
  site: GsSite;
  datetime: GsDateTime;
  hardware_info: Record<string, unknown>;
}

export type GsApiVersion = 4 | 7 | 8;

/** One CSV value as written: CSV-inferred per column (int, float kept as PyFloat "13.0", text); missing → null. */
export type GsValue = number | PyFloat | string | null;

/**
 * One vehicle row: the version's columns (see columns.ts) in order, plus `timestamp_adj` (local time, Python str()
 * form with microseconds when non-zero, e.g. "2019-05-31 22:02:11.600000-05:00") when the time could be corrected.
 */
export type GsRow = Record<string, GsValue> & { timestamp_adj?: string };

/** Whether a zone file's 24 h start before (-1), at (0) or after (+1) local midnight of its collection day. */
export type DayCovered = -1 | 0 | 1;

/** Standardized zone file header, keys in this order. */
export interface GsZoneHeader {
  data_type: "gridsmart";
  /** Filename part of the raw zip's key, e.g. "Burnet_Richcreek_gs_2019-06-01.zip". */
  zip_name: string;
  /** "<dashed GUID>.csv". */
  origin_filename: string;
  /** "<base>_<dashed GUID>_<YYYY-MM-DD>.json". */
  target_filename: string;
  /** Local midnight of the data day, Python str() form. */
  collection_date: string;
  processing_date: string;
  version: GsApiVersion;
  /** Dashed GUID. */
  guid: string;
  /** Decided once per intersection and day; absent when the clock could not be corrected. */
  day_covered?: DayCovered;
}

/** Standardized `<base>_gs_<day>_<GUID>.json`. */
export interface GsZoneFile {
  header: GsZoneHeader;
  data: GsRow[];
}

/** GS unit-data device, keys in original §6.1 order (GS has no device_name and no kits_id). */
export interface GsUnitDevice {
  device_type: string;
  atd_device_id: number | null;
  device_ip: string | null;
  device_status: string | null;
  ip_comm_status: string | null;
  atd_location_id: string | null;
  coa_intersection_id: number | null;
  lat: number | null;
  lon: number | null;
  primary_st: string | null;
  primary_st_segment_id: number | null;
  cross_st: string | null;
  cross_st_segment_id: number | null;
  [key: string]: string | number | boolean | null;
}

/** GRIDSMART device keys in the order of original §6.1 (one list, shared with the unit-data drivers). */
/** GRIDSMART device keys, in order (no device_name, no kits_id; original §6.1). */
export const GS_UNIT_DEVICE_KEYS = [
  "device_type",
  "atd_device_id",
  "device_ip",
  "device_status",
  "ip_comm_status",
  "atd_location_id",
  "coa_intersection_id",
  "lat",
  "lon",
  "primary_st",
  "primary_st_segment_id",
  "cross_st",
  "cross_st_segment_id",
] as const;
