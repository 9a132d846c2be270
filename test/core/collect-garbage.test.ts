/** util/collect-garbage.ts: the full collection `lake pipeline` asks for between stages. */
import { expect, it } from "vitest";
import { collectGarbage } from "../../src/util/collect-garbage.js";

it("frees what nothing holds any more, when the heap holds more than the threshold; below it does nothing", async () => {
  let weak: WeakRef<object> | undefined;
  (() => {
    weak = new WeakRef({ rows: Array.from({ length: 1000 }, (_, i) => ({ i })) });
  })();
  await new Promise((r) => setImmediate(r)); // a WeakRef's target lives at least to the end of the job that made it
  expect(collectGarbage(Number.MAX_SAFE_INTEGER)).toBe(false);
  expect(weak!.deref()).toBeDefined();
  await new Promise((r) => setImmediate(r)); // (deref() keeps it to the end of this job too)
  expect(collectGarbage()).toBe(true);
  expect(weak!.deref()).toBeUndefined();
});
