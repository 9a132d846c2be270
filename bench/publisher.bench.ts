/**
 * Publisher drivers: rows per second through the framework's Publisher (10,000-row chunks).
 * - csv: 300,000 new rows (one large Bluetooth day: appends), the same rows again (a republish of unchanged rows:
 *   nothing to write), the rows with one value changed (every row an update: one rewrite pass per 10,000-row call),
 *   and a fresh driver indexing the existing file; the driver's own memory (rows held, index bytes) after each;
 * - socrata on the in-repo HTTPS fake: 100,000 rows (only when NODE_EXTRA_CA_CERTS trusts SOCRATA_FAKE_CERT,
 *   as under scripts/test-all.sh; the figure is the driver + soda-js + TLS overhead, not Socrata's).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCsvPublisher } from "../src/drivers/publisher/csv.js";
import { createSocrataPublisher } from "../src/drivers/publisher/socrata.js";
import type { PublisherDriver, PublishRow } from "../src/support/drivers.js";
import { Publisher } from "../src/support/publisher.js";
import { LockService, NO_RETRY, wrapDriver } from "../src/support/resilience.js";
import { PUBLISHER_CALLS } from "../src/support/drivers.js";
import { SocrataFake, socrataFakeTrusted } from "../test/fakes/socrata-fake.js";
import { fmt, measure } from "./measure.js";

function makeRows(n: number, bump = 0): PublishRow[] {
  return Array.from({ length: n }, (_, i) => ({
    record_id: `${(i * 2654435761) % 4294967296}`.padStart(10, "0") + `-${i}`,
    host_read_time: "2024-11-12T00:00:01",
    reader_identifier: "lamar_38th",
    device_address: `00:11:22:${String(i % 100).padStart(2, "0")}:44:55`,
    day_of_week: 2,
    volume: (i % 37) + bump,
  }));
}

/** The driver as stages get it: behind the driver runtime, with the cross-process dataset lock (lock files). */
function behindRuntime<D extends PublisherDriver>(driver: D, lockDir: string): D {
  return wrapDriver(driver, {
    kind: "publisher",
    calls: PUBLISHER_CALLS,
    policy: { retry: NO_RETRY, timeoutMs: 0, concurrency: 0 },
    locks: new LockService({ dir: lockDir }),
  });
}

async function publish(driver: PublisherDriver, dataset: string, rows: PublishRow[]): Promise<void> {
  const pub = new Publisher(behindRuntime(driver, path.join(os.tmpdir(), "bench-pub-locks")), dataset, "record_id");
  for (const r of rows) await pub.addRow(r);
  await pub.flush();
}

function line(label: string, n: number, m: { seconds: number; peakRssMiB: number }, extra = ""): void {
  console.log(`${label.padEnd(34)} ${String(n).padStart(8)} rows ${fmt(m.seconds, 2).padStart(7)} s ${String(Math.round(n / m.seconds)).padStart(8)} rows/s  peak +${fmt(m.peakRssMiB, 0)} MiB${extra}`);
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-pub-"));
  try {
    const rows = makeRows(300_000);
    const csv = createCsvPublisher(dir);
    const held = () => {
      const m = csv.memory();
      return `  driver holds ≤ ${m.peakHeldRows} rows, index ${fmt((m.indexBytes ?? 0) / 2 ** 20, 1)} MiB`;
    };
    const first = await measure(() => publish(csv, "bt-unmatched", rows));
    line("csv: new rows (appends)", rows.length, first, `  file ${fmt(statSync(path.join(dir, "bt-unmatched.csv")).size / 2 ** 20, 1)} MiB${held()}`);
    const again = await measure(() => publish(csv, "bt-unmatched", rows));
    line("csv: republish, rows unchanged", rows.length, again, held());
    const changed = makeRows(300_000, 1);
    const rewritten = await measure(() => publish(csv, "bt-unmatched", changed));
    line("csv: republish, every row changed", rows.length, rewritten, `  (30 rewrite passes)${held()}`);
    const fresh = createCsvPublisher(dir);
    const load = await measure(() => fresh.upsert("bt-unmatched", [changed[0]!], "record_id"));
    line("csv: fresh driver indexes the file", rows.length, load, `  index ${fmt((fresh.memory().indexBytes ?? 0) / 2 ** 20, 1)} MiB`);

    if (!socrataFakeTrusted()) {
      console.log("socrata: skipped (set SOCRATA_FAKE_CERT, SOCRATA_FAKE_KEY and NODE_EXTRA_CA_CERTS at start)");
      return;
    }
    const fake = await SocrataFake.start({ defaultRowIdField: "record_id" });
    try {
      const soc = createSocrataPublisher({ domain: fake.domain, rowsPerUpsert: 10_000 }, { username: "u", password: "p" });
      const some = rows.slice(0, 100_000);
      const m = await measure(() => publish(soc, "bench-0001", some));
      line("socrata (HTTPS fake): new rows", some.length, m, `  ${fake.requests.length} requests`);
    } finally {
      await fake.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
