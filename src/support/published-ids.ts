/**
 * The row ids the publish stages keep per published object (`published/<dataset>/<object key>.ids` in the state
 * repository, written by the kit's publish sequence): what the lake published, per dataset and day. The publish
 * audit counts them at the destination; a repair deletes them there before republishing the day.
 */
import type { StorageDriver } from "./drivers.js";

/** Where the row ids of a publication are kept: per dataset, the published object's key. */
export function publishedIdsKey(dataset: string, pointer: string): string {
  return `published/${dataset}/${pointer}.ids`;
}

/** The first line of an id list written under a row-id scheme version other than 1 (the original's scheme). */
const VERSION_LINE = /^#row-id-version (\d+)$/;

/** An id list's text: one id a line, after a version line when the dataset's row-id scheme is not version 1. */
export function formatPublishedIds(version: number, idLines: string): string {
  return version === 1 ? idLines : `#row-id-version ${version}\n${idLines}`;
}

/** The scheme version and the ids of an id list's text (version 1 when it has no version line). */
export function parsePublishedIds(text: string): { version: number; ids: string[] } {
  const lines = text.split("\n").filter(Boolean);
  const m = lines.length ? VERSION_LINE.exec(lines[0]!) : null;
  return m ? { version: Number(m[1]), ids: lines.slice(1) } : { version: 1, ids: lines };
}

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
    const { ids } = parsePublishedIds((await storage.get(stateRepo, obj.key)).toString("utf8"));
    perDay.set(day, [...(perDay.get(day) ?? []), ...ids]);
  }
  return perDay;
}
