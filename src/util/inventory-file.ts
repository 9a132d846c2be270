/**
 * The embedded inventory file `<home>/sources/inventory.json` = {"bt": [...], "wt": [...], "gs": [...]}: a
 * simulated source writes its own section and keeps the others (atomic replace).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { sweepTempsOnce, tempPathFor } from "./temp-file.js";

export function writeInventorySection(file: string, code: string, devices: unknown[]): void {
  let inventory: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) inventory = parsed as Record<string, unknown>;
    } catch (err) {
      throw new Error(`Inventory file ${file} is not valid JSON (${(err as Error).message}); fix or delete it`, { cause: err });
    }
  }
  inventory[code] = devices;
  mkdirSync(path.dirname(file), { recursive: true });
  sweepTempsOnce(path.dirname(file));
  const tmp = tempPathFor(file);
  writeFileSync(tmp, `${JSON.stringify(inventory, null, 2)}\n`);
  renameSync(tmp, file);
}
