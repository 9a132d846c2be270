/** Shared by the embedded catalog drivers: text filters and ordering on the catalog key. */
import type { CatalogQuery, CatalogRecord, TextFilter } from "../../support/drivers.js";

/** A "*" pattern as a RegExp (every other character literal). */
export function patternRegex(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

export function textMatcher(filter: TextFilter | undefined): (value: string) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === "string") return (v) => v === filter;
  const re = patternRegex(filter.like);
  return (v) => re.test(v);
}

/** SQLite GLOB pattern for a "*" pattern (case-sensitive; "?" and "[" made literal). */
export function globPattern(pattern: string): string {
  return pattern.replace(/[?[]/g, (c) => `[${c}]`);
}

export function compareRecords(a: CatalogRecord, b: CatalogRecord): number {
  return (
    a.collection_date - b.collection_date ||
    (a.id_base < b.id_base ? -1 : a.id_base > b.id_base ? 1 : 0) ||
    (a.id_ext < b.id_ext ? -1 : a.id_ext > b.id_ext ? 1 : 0)
  );
}

export function recordMatches(q: CatalogQuery): (r: CatalogRecord) => boolean {
  const base = textMatcher(q.base);
  const ext = textMatcher(q.ext);
  return (r) =>
    r.repository === q.repository &&
    r.data_source === q.dataSource &&
    base(r.id_base) &&
    ext(r.id_ext) &&
    (q.early === undefined || (q.exact ? r.collection_date === q.early : r.collection_date >= q.early)) &&
    (q.late === undefined || q.exact || r.collection_date < q.late);
}

export function primaryKey(r: Pick<CatalogRecord, "collection_date" | "repository" | "data_source" | "id_base" | "id_ext">): string {
  return `${r.collection_date}\u0000${r.repository}\u0000${r.data_source}\u0000${r.id_base}\u0000${r.id_ext}`;
}
