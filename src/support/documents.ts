/**
 * Documents keyed by their content (seed-systems §4.8: bill PDFs), for any source: each is stored once in a layer
 * under its SHA-256 (`<sha256>.<ext>`, base = the hash), and the catalog is asked first whether that hash is there,
 * so a rerun (or another run that downloaded the same file) uploads nothing it already has.
 */
import { createHash } from "node:crypto";
import type { DateTime } from "luxon";
import type { LayerAccess } from "./kit.js";

export interface Document {
  body: Uint8Array;
  /** Its kind, e.g. "pdf". */
  ext: string;
  /** The collection day it is filed under when it is new (e.g. its bill's start). */
  date: DateTime;
  metadata?: Record<string, unknown>;
}

/** The content key of a body (hex SHA-256). */
export const contentKey = (body: Uint8Array): string => createHash("sha256").update(body).digest("hex");

/** Stores the documents the layer does not hold yet: each one's key, and how many were stored or were there. */
export async function storeDocuments(layer: LayerAccess, docs: readonly Document[], contentType?: string): Promise<{ keys: string[]; stored: number; existing: number }> {
  const seen = new Set<string>();
  let stored = 0;
  let existing = 0;
  const keys: string[] = [];
  for (const d of docs) {
    const key = contentKey(d.body);
    keys.push(key);
    if (seen.has(key) || (await layer.list({ base: key, ext: d.ext, limit: 1 })).length > 0) {
      existing++;
    } else {
      await layer.write({ base: key, ext: d.ext, date: d.date, name: `${key}.${d.ext}`, body: d.body, ...(contentType ? { contentType } : {}), metadata: { sha256: key, ...d.metadata } });
      stored++;
    }
    seen.add(key);
  }
  return { keys, stored, existing };
}
