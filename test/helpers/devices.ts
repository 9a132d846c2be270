/** The device requests the project's sources make of the unit-data drivers (from their declarations). */
import type { DeviceRequest } from "../../src/support/drivers.js";
import bt from "../../src/sources/bt/source.js";
import gs from "../../src/sources/gs/source.js";
import wt from "../../src/sources/wt/source.js";

const SOURCES = { bt, wt, gs };

export function deviceRequest(code: "bt" | "wt" | "gs"): DeviceRequest {
  const devices = SOURCES[code].devices!;
  return { dataSource: code, deviceType: devices.type, keys: devices.keys };
}
