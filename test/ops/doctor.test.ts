/** `lake doctor`: every configured system checked in one run, every finding reported at once. */
import { rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { captureCli, tempHome } from "./helpers.js";
import { demo } from "../../src/orchestration/demo.js";
import { doctorAction } from "../../src/cli/doctor.js";
import { describeTarget, type Finding } from "../../src/orchestration/doctor.js";
import { describeService, serviceEnv } from "../helpers/services.js";
import { SocrataFake } from "../fakes/socrata-fake.js";

const homes: string[] = [];
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

function home(prefix: string): string {
  const h = tempHome(prefix);
  homes.push(h);
  return h;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function doctor(config: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []) {
  let out = "";
  const flags = { config, json: extra.includes("--json"), timeout: "3000" };
  const code = await doctorAction(flags, { out: (s) => (out += s), env });
  return { code, out };
}

const byInterface = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.interface, f]));

describe("lake doctor", () => {
  it("on the demo lake every check is ok, the SQL source included; exit 0", { timeout: 120_000 }, async () => {
    const h = home("lake-doctor-demo-");
    const { configFile } = await demo({ dir: h, sources: ["wt", "bt"] });
    const r = await captureCli(["doctor", "--config", configFile]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^interface\s+driver\s+target\s+status\s+detail$/m);
    for (const i of ["config", "storage", "catalog", "perfmet", "publisher", "unitdata", "queue", "blocks", "sql \\(sources.wt.sql\\)"]) {
      expect(r.out).toMatch(new RegExp(`^${i}\\s.*\\sok\\s`, "m"));
    }
    expect(r.out).toMatch(/all \d+ checks ok\n$/);
    const json = await captureCli(["doctor", "--json", "--config", configFile]);
    const report = JSON.parse(json.out) as { ok: boolean; findings: Finding[] };
    expect(report.ok).toBe(true);
    expect(byInterface(report.findings).unitdata!.detail).toMatch(/RADAR devices of wt/);
  });

  it("a bad Socrata domain, an unreachable PostgREST and a missing secret: one run reports all three, exit 1", async () => {
    const h = home("lake-doctor-bad-");
    const port = await closedPort();
    const config = path.join(h, "lake.config.json");
    writeFileSync(
      config,
      JSON.stringify({
        home: ".",
        publisher: { driver: "socrata", options: { domain: "https://data.example.org" } },
        catalog: { driver: "postgrest", options: { url: `http://127.0.0.1:${port}` } },
        blocks: { driver: "sqlite" },
        unitdata: { driver: "knack" },
      }),
    );
    const r = await doctor(config, {}, ["--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { ok: boolean; findings: Finding[] };
    expect(report.ok).toBe(false);
    const f = byInterface(report.findings);
    expect(f.publisher).toMatchObject({ ok: false, driver: "socrata" });
    expect(f.publisher!.detail).toMatch(/publisher\.options\.domain: .*no scheme/);
    expect(f.catalog).toMatchObject({ ok: false, driver: "postgrest", target: `http://127.0.0.1:${port}` });
    expect(f.catalog!.detail).toMatch(/ECONNREFUSED|refused|fetch failed|unreachable/i);
    expect(f.unitdata).toMatchObject({ ok: false, driver: "knack", target: "https://api.knack.com" }); // the driver's default
    expect(f.unitdata!.detail).toMatch(/Missing secret KNACK_APP_ID/);
    // The rest of the configuration is fine and says so.
    for (const i of ["storage", "perfmet", "queue", "blocks"]) expect(f[i], i).toMatchObject({ ok: true });
    const table = await doctor(config);
    expect(table.out).toMatch(/^publisher\s+socrata\s+https:\/\/data\.example\.org\s+FAIL\s/m);
    expect(table.out).toMatch(/4 of \d+ checks failed\n$/); // the three, and the config's refused section
  });

  it("a target names no credentials: URLs lose their user-info and query, secrets are named", () => {
    expect(describeTarget({ driver: "postgres", options: { connectionString: "postgres://lake:pg-pw@db.internal:5432/lake?password=pg-pw" } }, "/", "/h")).toBe(
      "postgres://db.internal:5432/lake",
    );
    expect(describeTarget({ driver: "postgres", options: { secret: "KITS_PG_URL" } }, "/", "/h")).toBe("secret KITS_PG_URL");
    expect(describeTarget({ driver: "mssql", options: { server: "kits", database: "KITSDB" } }, "/", "/h")).toBe("kits:1433/KITSDB");
  });

  it("a configuration that is not valid at all is one failed finding, exit 1", async () => {
    const h = home("lake-doctor-shape-");
    const config = path.join(h, "lake.config.json");
    writeFileSync(config, JSON.stringify({ home: ".", retry: { retries: -1 } }));
    const r = await doctor(config, {}, ["--json"]);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as { findings: Finding[] };
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ interface: "config", ok: false });
    expect(report.findings[0]!.detail).toMatch(/retry\.retries/);
  });
});

const SERVICES = ["PG_URL", "POSTGREST_URL", "POSTGREST_JWT", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "SOCRATA_FAKE_CERT", "SOCRATA_FAKE_KEY"];

describeService(SERVICES, "lake doctor on the real services", () => {
  it("reaches S3, PostgREST, PostgreSQL, Redis, Socrata and a PostgreSQL source; then names each that is down", { timeout: 60_000 }, async () => {
    const fake = await SocrataFake.start();
    try {
      const h = home("lake-doctor-svc-");
      const config = path.join(h, "lake.config.json");
      const settings = (pg: string, redis: string, postgrest: string, socrata: string) => ({
        home: ".",
        storage: { driver: "s3", options: { endpoint: serviceEnv("S3_ENDPOINT"), forcePathStyle: true, checksumMode: "WHEN_REQUIRED", bucketPrefix: "doctor-" } },
        catalog: { driver: "postgres", options: { connectionString: pg } },
        perfmet: { driver: "postgrest", options: { url: postgrest } },
        publisher: { driver: "socrata", options: { domain: socrata } },
        queue: { driver: "bullmq", options: { url: redis } },
        blocks: { driver: "postgres", options: { connectionString: pg } },
        sources: { wt: { sql: { driver: "postgres", options: { connectionString: pg } } } },
      });
      const env = {
        AWS_ACCESS_KEY_ID: serviceEnv("S3_ACCESS_KEY"),
        AWS_SECRET_ACCESS_KEY: serviceEnv("S3_SECRET_KEY"),
        CATALOG_KEY: serviceEnv("POSTGREST_JWT"),
        SOCRATA_USERNAME: "doctor",
        SOCRATA_PASSWORD: "doctor-pw",
      };
      writeFileSync(config, JSON.stringify(settings(serviceEnv("PG_URL")!, serviceEnv("REDIS_URL")!, serviceEnv("POSTGREST_URL")!, fake.domain)));
      const up = await doctor(config, env, ["--json"]);
      const f = byInterface((JSON.parse(up.out) as { findings: Finding[] }).findings);
      for (const i of ["config", "storage", "catalog", "perfmet", "publisher", "queue", "blocks", "sql (sources.wt.sql)"]) {
        expect(f[i], `${i}: ${f[i]?.detail}`).toMatchObject({ ok: true });
      }
      expect(up.out).not.toContain(new URL(serviceEnv("PG_URL")!).password || "no-password");

      const port = await closedPort();
      const pgDown = serviceEnv("PG_URL")!.replace(/@[^/]+\//, `@127.0.0.1:${port}/`);
      writeFileSync(config, JSON.stringify(settings(pgDown, `redis://127.0.0.1:${port}`, `http://127.0.0.1:${port}`, `127.0.0.1:${port}`)));
      const down = await doctor(config, env, ["--json"]);
      expect(down.code).toBe(1);
      const g = byInterface((JSON.parse(down.out) as { findings: Finding[] }).findings);
      for (const i of ["catalog", "perfmet", "publisher", "queue", "blocks", "sql (sources.wt.sql)"]) {
        expect(g[i], `${i}: ${g[i]?.detail}`).toMatchObject({ ok: false });
      }
      expect(g.storage).toMatchObject({ ok: true });
    } finally {
      await fake.close();
    }
  });
});
