/**
 * Unit data (original §6): the device inventory of a data source, stored in the lake once per processing day as
 * `<areaBase>_<ds>_<YYYY-MM-DD>_unit_data.json` = {header, devices}, and looked up by the ready stages as the first
 * unit data dated strictly after the data day ("closest future").
 */
import type { DateTime } from "luxon";
import type { DeviceRequest, UnitDataDriver, UnitDevice } from "./drivers.js";
import type { Storage } from "./storage.js";
import type { CatalogEntry } from "./catalog.js";
import { TerminalError } from "./errors.js";
import { pyStr } from "../util/dates.js";

export const UNIT_DATA_EXT = "unit_data.json";

/** Exts of objects that describe the lake rather than a day's data (a source may declare more, e.g. site files). */
export const METADATA_EXTS: readonly string[] = [UNIT_DATA_EXT];

/** Ext suffix of a quarantine object: the rows of an item that were not carried over, with file, line and reason. */
export const QUARANTINE_SUFFIX = ".quarantine.json";

/**
 * Whether an object of this ext is lake metadata, not a day's data: unit data, quarantine objects, or one of the
 * source's declared metadata exts (lower case).
 */
export function isMetadataExt(ext: string, declared: ReadonlySet<string> = new Set()): boolean {
  const e = ext.toLowerCase();
  return e === UNIT_DATA_EXT || e.endsWith(QUARANTINE_SUFFIX) || declared.has(e);
}

/** Keys of a sensor device (Knack's sensors object: Bluetooth readers, Wavetronix radars), in order (original §6.1). */
export const SENSOR_DEVICE_KEYS = [
  "device_type",
  "atd_device_id",
  "device_name",
  "device_status",
  "device_ip",
  "ip_comm_status",
  "atd_location_id",
  "coa_intersection_id",
  "lat",
  "lon",
  "primary_st",
  "primary_st_segment_id",
  "cross_st",
  "cross_st_segment_id",
  "kits_id",
] as const;

export interface UnitDataHeader {
  data_type: string;
  target_filename: string;
  collection_date: string;
  processing_date: string;
}

export interface UnitData {
  header: UnitDataHeader;
  devices: UnitDevice[];
}

/** Fetches the inventory from the unit-data driver and wraps it with the header of §6.1 (collection day = today). */
export async function fetchUnitData(
  driver: UnitDataDriver,
  request: DeviceRequest,
  areaBase: string,
  now: DateTime,
): Promise<UnitData> {
  const dataSource = request.dataSource;
  const devices = await driver.devices(request);
  const day = now.startOf("day");
  return {
    header: {
      data_type: `${dataSource}_unit_data`,
      target_filename: `${areaBase}_${dataSource}_${day.toFormat("yyyy-MM-dd")}_${UNIT_DATA_EXT}`,
      collection_date: pyStr(day),
      processing_date: pyStr(now),
    },
    devices,
  };
}

/** Stores unit data dated its header's collection day (immediate catalog upsert). */
export async function storeUnitData(storage: Storage, unitData: UnitData, areaBase: string, collectionDay: DateTime, processingDate: DateTime): Promise<CatalogEntry> {
  const element = storage.createCatalogElement(areaBase, UNIT_DATA_EXT, collectionDay, { processingDate });
  return storage.writeJSON(unitData, element);
}

/** Unit data already in a lake layer; retrieve(day) gives the first one dated strictly after the day. */
export class UnitDataStorage {
  private entries: CatalogEntry[] | undefined;
  private readonly cache = new Map<string, UnitData>();

  constructor(
    readonly storage: Storage,
    readonly areaBase: string,
  ) {}

  /** Loads the catalog entries once (all of them: one per processing day, a small list). */
  async prepare(): Promise<void> {
    this.entries = await this.storage.catalog.list(this.storage.repository, { base: this.areaBase, ext: UNIT_DATA_EXT });
  }

  /** Entry of the first unit data dated strictly after `day` (or the newest without a day). */
  async entryFor(day?: DateTime): Promise<CatalogEntry | undefined> {
    if (!this.entries) await this.prepare();
    const list = this.entries!;
    if (!day) return list[list.length - 1];
    // Binary search: first entry with collectionDate > day.
    let lo = 0;
    let hi = list.length;
    const t = day.toMillis();
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.collectionDate.toMillis() > t) hi = mid;
      else lo = mid + 1;
    }
    return list[lo];
  }

  /**
   * The unit data for a data day. None dated after the day is a clear TerminalError naming what to run
   * (fixes B33: the original crashed on None).
   */
  async retrieve(day?: DateTime): Promise<UnitData> {
    const entry = await this.entryFor(day);
    if (!entry) {
      const what = day ? `dated after ${day.toISODate()}` : "at all";
      throw new TerminalError(
        `No unit data ${what} in ${this.storage.repository} (${this.areaBase}, ${UNIT_DATA_EXT}, source ${this.storage.dataSource}): ` +
          `run the source's standardize stage (or ingest, for GRIDSMART) after that day so the device inventory is stored, then rerun`,
      );
    }
    let data = this.cache.get(entry.pointer);
    if (!data) {
      data = await this.storage.retrieveJSON<UnitData>(entry.pointer);
      this.cache.set(entry.pointer, data);
    }
    return data;
  }
}
