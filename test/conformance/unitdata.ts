/**
 * The unit-data conformance suite: every UnitDataDriver, seeded with the same inventory, must give the same
 * normalised devices (original §6.1 keys and order, typed values) and give nothing of a device type they lack.
 */
import { describe, expect, it } from "vitest";
import { DateTime } from "luxon";
import type { UnitDataDriver, UnitDevice } from "../../src/support/drivers.js";
import { deviceRequest } from "../helpers/devices.js";
import { fetchUnitData } from "../../src/support/unitdata.js";
import { runtimeDriver } from "../helpers/context.js";

export interface UnitDataSuiteOptions {
  /** A driver over an inventory equivalent to `expected`. */
  create(): Promise<UnitDataDriver>;
  expected: Record<"bt" | "wt" | "gs", UnitDevice[]>;
}

export function unitDataConformance(name: string, opts: UnitDataSuiteOptions): void {
  describe(`unit data conformance: ${name}`, () => {
    for (const ds of ["bt", "wt", "gs"] as const) {
      it(`${ds}: devices equal the expected inventory, keys in the original's order`, async () => {
        const driver = runtimeDriver("unitdata", await opts.create());
        const devices = await driver.devices(deviceRequest(ds));
        expect(devices).toEqual(opts.expected[ds]);
        const keys = deviceRequest(ds).keys;
        for (const d of devices) expect(Object.keys(d).slice(0, keys.length)).toEqual([...keys]);
      });
    }

    it("values are typed: ids integers or null, lat/lon numbers or null, streets trimmed text or null", async () => {
      const driver = runtimeDriver("unitdata", await opts.create());
      for (const ds of ["bt", "wt", "gs"] as const) {
        for (const d of await driver.devices(deviceRequest(ds))) {
          for (const k of ["coa_intersection_id", "primary_st_segment_id", "cross_st_segment_id", ...(ds === "gs" ? [] : ["kits_id"])]) {
            expect(d[k] === null || Number.isInteger(d[k]), `${ds} ${k}=${String(d[k])}`).toBe(true);
          }
          for (const k of ["lat", "lon"]) expect(d[k] === null || typeof d[k] === "number").toBe(true);
          for (const k of ["primary_st", "cross_st"]) {
            const v = d[k];
            expect(v === null || (typeof v === "string" && v === v.trim())).toBe(true);
          }
        }
      }
    });

    it("a source and device type the inventory lacks gives no devices, or an error naming it", async () => {
      const driver = runtimeDriver("unitdata", await opts.create());
      const got = await driver.devices({ dataSource: "xx", deviceType: "XXTYPE", keys: ["device_type"] }).catch((e: unknown) => e);
      if (got instanceof Error) expect(got.message).toMatch(/"xx"|XXTYPE/);
      else expect(got).toEqual([]);
    });

    it("feeds fetchUnitData: header of original §6.1 around the devices", async () => {
      const driver = runtimeDriver("unitdata", await opts.create());
      const now = DateTime.fromISO("2024-11-20T10:00:00", { zone: "America/Chicago" });
      const ud = await fetchUnitData(driver, deviceRequest("wt"), "Austin", now);
      expect(ud.header).toEqual({
        data_type: "wt_unit_data",
        target_filename: "Austin_wt_2024-11-20_unit_data.json",
        collection_date: "2024-11-20 00:00:00-06:00",
        processing_date: "2024-11-20 10:00:00-06:00",
      });
      expect(ud.devices).toEqual(opts.expected.wt);
    });
  });
}
