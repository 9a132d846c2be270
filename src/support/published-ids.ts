/**
 * The row ids the publish stages keep per published object (`published/<dataset>/<object key>.ids` in the state
 * repository, written by the kit's publish sequence): what the lake published, per dataset and day. The publish
 * audit counts them at the destination; a repair deletes them there before republishing the day.
 */
import type { StorageDriver } from "./drivers.js";
import { publishedIdsKey } from "./kit.js";

/** The ids the lake published to `dataset` for the source's days with from <= day < to (YYYY-MM-DD), per day. */
export async function publishedIdsByDay(
  storage: StorageDriver,
  stateRepo: string,
  dataset: string,
  sourceCode: string,
  window: { from: string; to: string },
): Promise<Map<string, string[]>> {
  const perDay = new Map<string, string[]>();
  // The folder of the dataset's id lists: the key of an empty pointer without its suffix.
  const prefix = publishedIdsKey(dataset, "").replace(/\.ids$/, "");
  for await (const obj of storage.list(stateRepo, prefix)) {
    const pointer = obj.key.slice(prefix.length);
    const m = /^(\d{4})\/(\d{2})\/(\d{2})\/([^/]+)\//.exec(pointer);
    if (!m || m[4] !== sourceCode || !obj.key.endsWith(".ids")) continue;
    const day = `${m[1]}-${m[2]}-${m[3]}`;
    if (day < window.from || day >= window.to) continue;
    const ids = (await storage.get(stateRepo, obj.key)).toString("utf8").split("\n").filter(Boolean);
    perDay.set(day, [...(perDay.get(day) ?? []), ...ids]);
  }
  return perDay;
}
