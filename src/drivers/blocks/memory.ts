/** In-memory block store for tests and the memory catalog: the SQLite store on a private in-memory database. */
import * as z from "zod/mini";
import { defineDriver } from "../define.js";
import { sqliteBlockStore } from "./sqlite.js";

export function memoryBlockStore() {
  return sqliteBlockStore(":memory:", false, "memory");
}

export default (_readOnly: boolean) =>
  defineDriver({
    options: z.strictObject({}),
    create: () => memoryBlockStore(),
  });
