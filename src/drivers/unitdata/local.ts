/**
 * The embedded default unit-data driver: a JSON inventory file (default `<home>/sources/inventory.json`) shaped
 * `{ "<source code>": [devices...], ... }`, each device an object with the keys its source declares.
 * Values go through the same normalisation as Knack's (normalise.ts). The file is read on every call, so an
 * edited inventory is seen by the next stage run. A missing or damaged file is bad input, not configuration: it
 * fails the stages that need devices (TerminalError, exit 1) with the file and what to do, and every other source
 * of `lake pipeline all` still runs.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { defineDriver } from "../define.js";
import { localUnitDataOptions } from "../options.js";
import type { DeviceRequest, UnitDataDriver, UnitDevice } from "../../support/drivers.js";
import { TerminalError } from "../../support/errors.js";
import { normaliseDevice } from "./normalise.js";

export const DRIVER_NAME = "local";
/** What to do about a damaged inventory file. */
const FIX = "fix the file (or restore it) and rerun; the days of the sources that need devices are retried then";

export function createLocalUnitData(file: string): UnitDataDriver {
  return {
    driverName: DRIVER_NAME,
    async devices(request: DeviceRequest): Promise<UnitDevice[]> {
      const dataSource = request.dataSource;
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
        throw new TerminalError(
          missing
            ? `unit data: inventory file ${file} does not exist: create it as {"<source code>": [devices...], ...} or set unitdata.options.path`
            : `unit data: cannot read inventory file ${file}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new TerminalError(`unit data: inventory file ${file} is not valid JSON (${(err as Error).message}); ${FIX}`, { cause: err });
      }
      if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
        throw new TerminalError(`unit data: inventory file ${file} must hold an object {"<source code>": [devices...], ...}; ${FIX}`);
      }
      const list = (doc as Record<string, unknown>)[dataSource];
      if (!Array.isArray(list)) {
        throw new TerminalError(
          list === undefined
            ? `unit data: inventory file ${file} has no "${dataSource}" list of devices: add "${dataSource}": [] (or the devices)`
            : `unit data: inventory file ${file}: "${dataSource}" must be a list of devices`,
        );
      }
      return list.map((device, i) => {
        const where = `inventory file ${file}, ${dataSource} device ${i}`;
        if (typeof device !== "object" || device === null || Array.isArray(device)) {
          throw new TerminalError(`unit data: ${where} is not an object; ${FIX}`);
        }
        try {
          return normaliseDevice(device as Record<string, unknown>, request.keys, where);
        } catch (err) {
          throw new TerminalError(`${(err as Error).message}; ${FIX}`, { cause: err });
        }
      });
    },
  };
}

export default defineDriver({
  options: localUnitDataOptions,
  create: (options, ctx) =>
    createLocalUnitData(options.path ? path.resolve(ctx.baseDir, options.path) : path.join(ctx.home, "sources", "inventory.json")),
});
