/**
 * A lake layer's storage (original §3.2): one repository (bucket) of one storage driver, with the catalog.
 * Every write goes through writeBuffer: optional local copy (-o), the upload (skipped in simulation, -0), then the
 * catalog row (staged or immediate; never in simulation).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { DateTime } from "luxon";
import type { Catalog, CatalogEntry } from "./catalog.js";
import type { StorageDriver } from "./drivers.js";
import type { RunWriteOptions } from "./events.js";
import { makeFilename, makeKey, keyFilename, validateIdPart } from "./identifier.js";
import { pyJson } from "../util/pyjson.js";
import { decrypt, encrypt, ENCRYPTION_HEADER_BYTES, isEncrypted, startsEncrypted } from "../util/encryption.js";

export interface StorageOptions extends RunWriteOptions {
  /** The key of encryption at rest (AES-256-GCM); asked for only when an object is written encrypted or read. */
  encryptionKey?: () => Buffer;
}

export interface WriteOptions {
  /** Stage the catalog row (flushed by the compare loop) instead of upserting it now. */
  cache?: boolean;
  contentType?: string;
  /** Encrypt the object at rest (AES-256-GCM, key from LAKE_ENCRYPTION_KEY); reads decrypt it. */
  encrypt?: boolean;
}

export class Storage {
  constructor(
    readonly driver: StorageDriver,
    readonly repository: string,
    readonly dataSource: string,
    readonly catalog: Catalog,
    private readonly opts: StorageOptions = {},
  ) {}

  get simulate(): boolean {
    return this.opts.simulate ?? false;
  }

  makeFilename(base: string, ext: string, date: DateTime): string {
    return makeFilename(base, this.dataSource, ext, date);
  }

  makePath(base: string, ext: string, date: DateTime, filename?: string): string {
    return makeKey(this.dataSource, date, filename ?? this.makeFilename(base, ext, date));
  }

  extractFilename(key: string): string {
    return keyFilename(key);
  }

  /** A catalog entry for this repository with pointer = the object's key. */
  createCatalogElement(
    base: string,
    ext: string,
    date: DateTime,
    extra: { processingDate?: DateTime | null; collectionEnd?: DateTime | null; metadata?: Record<string, unknown> | null; filename?: string } = {},
  ): CatalogEntry {
    const { filename, ...rest } = extra;
    // A given filename (a run-numbered raw object) replaces <base>_<ds>_<day>.<ext>; it is validated like a base.
    const name = filename === undefined ? undefined : validateIdPart("base", filename);
    return this.catalog.build(this.repository, base, ext, date, this.makePath(base, ext, date, name), rest);
  }

  catalogLookup(base: string, ext: string, date: DateTime): Promise<CatalogEntry | undefined> {
    return this.catalog.single(this.repository, base, ext, date);
  }

  /** An object's bytes; an encrypted object (its header says so) is decrypted. */
  async retrieveBuffer(key: string): Promise<Buffer> {
    const body = await this.driver.get(this.repository, key);
    return isEncrypted(body) ? decrypt(body, this.key(), `${this.repository}/${key}`) : body;
  }

  private key(): Buffer {
    if (!this.opts.encryptionKey) throw new Error(`Storage ${this.repository}: no encryption key source was given`);
    return this.opts.encryptionKey();
  }

  /**
   * An object's bytes as a stream. An encrypted object (sealed whole: GCM authenticates one buffer) is read whole,
   * decrypted and streamed; any other streams as stored, its first bytes read ahead to look at its header.
   */
  async retrieveStream(key: string): Promise<Readable> {
    const stored = await this.driver.getStream(this.repository, key);
    const chunks = stored[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head: Buffer[] = [];
    let have = 0;
    while (have < ENCRYPTION_HEADER_BYTES) {
      const next = await chunks.next();
      if (next.done) break;
      const piece = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      head.push(piece);
      have += piece.length;
    }
    // Only the header's bytes are joined to look at it (a first chunk is typically 64 KiB).
    if (startsEncrypted(Buffer.concat(head, Math.min(have, ENCRYPTION_HEADER_BYTES)))) {
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) head.push(Buffer.from(next.value));
      return Readable.from([decrypt(Buffer.concat(head), this.key(), `${this.repository}/${key}`)], { objectMode: false });
    }
    return Readable.from(
      (async function* () {
        try {
          yield* head;
          for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
        } finally {
          stored.destroy();
        }
      })(),
      { objectMode: false },
    );
  }

  async retrieveJSON<T = unknown>(key: string): Promise<T> {
    const buf = await this.retrieveBuffer(key);
    return JSON.parse(buf.toString("utf8")) as T;
  }

  exists(key: string): Promise<boolean> {
    return this.driver.exists(this.repository, key);
  }

  /**
   * The single write path. The catalog row is rebuilt for this repository (pointer = key), keeping
   * collection_end and metadata (fixes B6).
   */
  async writeBuffer(plain: Uint8Array, element: CatalogEntry, opts: WriteOptions = {}): Promise<CatalogEntry> {
    const body = opts.encrypt ? encrypt(plain, this.key()) : plain;
    const entry = this.entryFor(opts.encrypt ? { ...element, metadata: { ...(element.metadata ?? {}), encrypted: "aes-256-gcm" } } : element);
    const filename = this.extractFilename(entry.pointer);
    let localCopy: string | undefined;
    if (this.opts.outputDir) {
      localCopy = path.join(this.opts.outputDir, filename);
      await mkdir(this.opts.outputDir, { recursive: true });
      await writeFile(localCopy, body);
    }
    if (!this.simulate) {
      await this.driver.put(this.repository, entry.pointer, body, opts.contentType ? { contentType: opts.contentType } : undefined);
    }
    return this.recordWrite(entry, body.byteLength, localCopy, opts);
  }

  /**
   * Writes a body produced piece by piece (large outputs are never held whole in memory). With -o the pieces go to
   * the local copy first and the upload reads that file back (retried like writeBuffer). Without -o the pieces are
   * streamed to the driver in one attempt: a streamed body cannot be replayed, so a failure fails the item and the
   * compare loop picks it up on the next run. In simulation the body is consumed and counted, nothing is stored.
   */
  async writeStream(body: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, element: CatalogEntry, opts: WriteOptions = {}): Promise<CatalogEntry> {
    if (opts.encrypt) {
      const pieces: Buffer[] = [];
      for await (const piece of body) pieces.push(typeof piece === "string" ? Buffer.from(piece, "utf8") : Buffer.from(piece));
      return this.writeBuffer(Buffer.concat(pieces), element, opts); // encrypted whole: GCM seals one buffer
    }
    const entry = this.entryFor(element);
    const filename = this.extractFilename(entry.pointer);
    let bytes = 0;
    const counted = async function* () {
      for await (const piece of body) {
        const buf = typeof piece === "string" ? Buffer.from(piece, "utf8") : piece;
        bytes += buf.byteLength;
        yield buf;
      }
    };
    const putOpts = opts.contentType ? { contentType: opts.contentType } : undefined;
    let localCopy: string | undefined;
    if (this.opts.outputDir) {
      localCopy = path.join(this.opts.outputDir, filename);
      await mkdir(this.opts.outputDir, { recursive: true });
      await pipeline(Readable.from(counted()), createWriteStream(localCopy));
      if (!this.simulate) {
        const file = localCopy;
        // Read back from the local copy; a streamed body is sent once (the runtime does not replay streams).
        await this.driver.put(this.repository, entry.pointer, createReadStream(file), putOpts);
      }
    } else if (this.simulate) {
      for await (const _ of counted()) void _;
    } else {
      await this.driver.put(this.repository, entry.pointer, Readable.from(counted()), putOpts);
    }
    return this.recordWrite(entry, bytes, localCopy, opts);
  }

  /** The catalog row of a write: rebuilt for this repository (pointer = key), keeping collection_end and metadata (fixes B6). */
  private entryFor(element: CatalogEntry): CatalogEntry {
    // A name given to createCatalogElement (a key of this layout with another filename) is kept.
    const folder = this.makePath(element.base, element.ext, element.collectionDate, "");
    const name = element.pointer.startsWith(folder) ? element.pointer.slice(folder.length) : "";
    return this.createCatalogElement(element.base, element.ext, element.collectionDate, {
      processingDate: element.processingDate,
      collectionEnd: element.collectionEnd,
      metadata: element.metadata,
      ...(name && !name.includes("/") ? { filename: name } : {}),
    });
  }

  /** After the bytes went (or, simulating, would have gone): the plan, the write event, the catalog row. */
  private async recordWrite(entry: CatalogEntry, bytes: number, localCopy: string | undefined, opts: WriteOptions): Promise<CatalogEntry> {
    if (this.simulate) this.opts.plan?.push({ kind: "storage", target: this.repository, detail: `${entry.pointer} (${bytes} bytes)` });
    this.opts.events?.emit("write", {
      app: this.opts.app ?? "",
      repository: this.repository,
      key: entry.pointer,
      bytes,
      simulated: this.simulate,
      ...(localCopy ? { localCopy } : {}),
    });
    if (opts.cache) this.catalog.stage(entry);
    else await this.catalog.upsert(entry);
    return entry;
  }

  /** Serialises like Python's json.dumps defaults (§0.4) and writes. */
  writeJSON(obj: unknown, element: CatalogEntry, opts: WriteOptions = {}): Promise<CatalogEntry> {
    return this.writeBuffer(Buffer.from(pyJson(obj), "utf8"), element, { contentType: "application/json", ...opts });
  }

  async writeFile(localPath: string, element: CatalogEntry, opts: WriteOptions = {}): Promise<CatalogEntry> {
    const { readFile } = await import("node:fs/promises");
    return this.writeBuffer(await readFile(localPath), element, opts);
  }

  async delete(key: string): Promise<void> {
    if (this.simulate) return;
    await this.driver.delete(this.repository, key);
  }
}
