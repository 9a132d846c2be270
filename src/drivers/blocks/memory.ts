/** In-memory block store for tests and the memory catalog: the SQLite store on a private in-memory database. */
import { defineDriver } from "../define.js";
import { memoryBlocksOptions } from "../options.js";
import { sqliteBlockStore } from "./sqlite.js";

export function memoryBlockStore(readOnly = false) {
  return sqliteBlockStore(":memory:", readOnly, "memory");
}

export default defineDriver({
  options: memoryBlocksOptions,
  create: (o) => memoryBlockStore(o.readOnly),
});
