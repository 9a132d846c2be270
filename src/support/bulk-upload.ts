/**
 * The bulk uploader (F17): rows of several record types to an HTTP datastore's bulk ("sync") endpoints, in
 * batches per type, parents before children. Each parent row has a local key; the datastore answers each batch with
 * one element per row (its id, or null when it refused that row, e.g. "no project found"), and children carry their
 * parent's id from those answers. A child whose parent got no id is an orphan: skipped and counted, never sent. A
 * refused batch (an HTTP error) stops the upload with an error naming the type, the batch and its rows: the caller
 * records nothing (no completion marker), and the next run sends the whole item again, which an upserting
 * datastore takes without duplicates.
 */
import { TerminalError } from "./errors.js";

export type UploadRow = Record<string, string | number | boolean | null>;

export interface RecordType {
  name: string;
  /** Rows per request. */
  batchSize: number;
  /** The row's local key (what its children name it by); needed on parents. */
  key?(row: UploadRow): string;
  /** A child: its parent type, the field holding the parent's local key, and the field that gets the parent's id. */
  parent?: { type: string; keyField: string; idField: string };
}

/** Sends one batch; resolves to one answer per row, in order: the row's id, or null when the row was refused. */
export type SendBatch = (type: string, rows: UploadRow[], where: string) => Promise<(string | number | null)[]>;

export interface UploadResult {
  sent: Record<string, number>;
  refused: Record<string, number>;
  orphans: Record<string, number>;
  batches: number;
}

/** Types in dependency order: every parent before its children; a cycle or an unknown parent is a TerminalError. */
export function uploadOrder(types: readonly RecordType[]): RecordType[] {
  const byName = new Map(types.map((t) => [t.name, t]));
  const out: RecordType[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (t: RecordType, path: string[]) => {
    if (state.get(t.name) === "done") return;
    if (state.get(t.name) === "visiting") throw new TerminalError(`record types form a cycle: ${[...path, t.name].join(" -> ")}`);
    state.set(t.name, "visiting");
    if (t.parent) {
      const p = byName.get(t.parent.type);
      if (!p) throw new TerminalError(`record type ${t.name}: its parent type ${t.parent.type} is not declared`);
      visit(p, [...path, t.name]);
    }
    state.set(t.name, "done");
    out.push(t);
  };
  for (const t of types) visit(t, []);
  return out;
}

export async function bulkUpload(types: readonly RecordType[], rows: Record<string, UploadRow[]>, send: SendBatch, where: string): Promise<UploadResult> {
  const result: UploadResult = { sent: {}, refused: {}, orphans: {}, batches: 0 };
  const ids = new Map<string, Map<string, string | number>>();
  for (const t of uploadOrder(types)) {
    const parentIds = t.parent ? ids.get(t.parent.type) ?? new Map() : undefined;
    const ready: UploadRow[] = [];
    const given: UploadRow[] = [];
    let orphans = 0;
    for (const row of rows[t.name] ?? []) {
      if (!t.parent) {
        ready.push(row);
        given.push(row);
        continue;
      }
      const id = parentIds!.get(String(row[t.parent.keyField]));
      if (id === undefined) orphans++;
      else {
        const { [t.parent.keyField]: _local, ...rest } = row;
        ready.push({ ...rest, [t.parent.idField]: id });
        given.push(row);
      }
    }
    const mine = new Map<string, string | number>();
    let sent = 0;
    let refused = 0;
    for (let i = 0; i < ready.length; i += t.batchSize) {
      const batch = ready.slice(i, i + t.batchSize);
      const label = `${where}: ${t.name} batch ${i / t.batchSize + 1} (rows ${i + 1}-${i + batch.length} of ${ready.length})`;
      const answer = await send(t.name, batch, label);
      result.batches++;
      if (answer.length !== batch.length) throw new TerminalError(`${label}: the datastore answered ${answer.length} ids for ${batch.length} rows`);
      answer.forEach((id, k) => {
        if (id === null) refused++;
        else {
          sent++;
          if (t.key) mine.set(t.key(given[i + k]!), id);
        }
      });
    }
    ids.set(t.name, mine);
    result.sent[t.name] = sent;
    if (refused) result.refused[t.name] = refused;
    if (orphans) result.orphans[t.name] = orphans;
  }
  return result;
}
