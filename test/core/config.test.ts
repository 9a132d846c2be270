import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { loadConfig, createSecretSource, validateConfig } from "../../src/config/load.js";
import { redact } from "../../src/util/redact.js";
import { createDriver } from "../../src/config/factory.js";
import { ConfigError, TerminalError } from "../../src/support/errors.js";
import { makeFilename, makeKey, validateIdPart } from "../../src/support/identifier.js";
import { DateTime } from "luxon";
import { tempDir, testRuntime, ingestMain } from "./helpers.js";
import { MemoryStorage } from "../../src/drivers/storage/memory.js";
import { Storage } from "../../src/support/storage.js";
import { Catalog } from "../../src/support/catalog.js";
import { MemoryCatalog } from "../../src/drivers/catalog/memory.js";

const ctx = (home: string) => ({
  secrets: createSecretSource(undefined, {}, home),
  zone: "America/Chicago",
  clock: () => 0,
  debug: false,
  baseDir: home,
  home,
});

describe("configuration", () => {
  it("has embedded defaults with no file", () => {
    const { config } = loadConfig({ cwd: tempDir(), env: {} });
    expect(config.storage.driver).toBe("local");
    expect(config.catalog.driver).toBe("sqlite");
    expect(config.zone).toBe("America/Chicago");
  });

  it("reads YAML and applies environment overrides", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "lake.config.yaml"), "zone: America/Denver\ncatalog:\n  driver: memory\n");
    const { config } = loadConfig({ cwd: dir, env: { LAKE__catalog__driver: "sqlite", LAKE__catalog__options__path: "x.db", LAKE_HOME: "/srv/lake" } });
    expect(config.zone).toBe("America/Denver");
    expect(config.catalog).toEqual({ driver: "sqlite", options: { path: "x.db" } });
    expect(config.home).toBe("/srv/lake");
  });

  it("rejects unknown keys and wrong types with the path named", () => {
    expect(() => validateConfig({ catalgo: {} }, "lake.config.yaml")).toThrow(/Unrecognized key.*catalgo/s);
    expect(() => validateConfig({ retry: { retries: "many" } }, "x")).toThrow(/retry\.retries/);
    expect(() => loadConfig({ file: "/nope/lake.yaml", env: {} })).toThrow(/does not exist/);
  });

  it("says what was expected and what was found (zod/mini with the English messages)", async () => {
    expect(() => validateConfig({ retry: { retries: "many" } }, "lake.config.yaml")).toThrow(
      "Invalid configuration in lake.config.yaml:\n  retry.retries: Invalid input: expected number, received string",
    );
    expect(() => validateConfig({ blocks: { leaseMs: 5 } }, "x")).toThrow("blocks.leaseMs: Too small: expected number to be >=100");
    expect(() => validateConfig({ schedule: { "wt-ready": { time: "25:00" } } }, "x")).toThrow("schedule.wt-ready.time: expected HH:MM (24 h)");
    await expect(createDriver("storage", { driver: "s3", options: { endpoint: "not a url", queueSize: 99 } }, ctx(tempDir()))).rejects.toThrow(
      "Invalid configuration in storage.options (driver s3):\n  endpoint: Invalid URL\n  queueSize: Too big: expected number to be <=32",
    );
  });

  it("imports zod only as a namespace of zod/mini (the classic API and a named `z` import do not tree-shake)", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const allowed = new Set(['import * as z from "zod/mini";', 'import type * as z from "zod/mini";', 'import en from "zod/v4/locales/en.js";']);
    const other: string[] = [];
    for (const dir of ["src", "test", "bench"]) {
      for (const f of readdirSync(path.join(root, dir), { recursive: true }) as string[]) {
        if (!f.endsWith(".ts")) continue;
        for (const line of readFileSync(path.join(root, dir, f), "utf8").split("\n")) {
          if (/^import\b.*\bfrom\s+["']zod[/"']/.test(line) && !allowed.has(line.trim())) other.push(`${dir}/${f}: ${line}`);
        }
      }
    }
    expect(other).toEqual([]);
  });

  it("names the unknown driver and the known ones", async () => {
    await expect(createDriver("catalog", { driver: "sqlit", options: {} }, ctx(tempDir()))).rejects.toThrow(
      /catalog\.driver: unknown driver "sqlit" \(known: sqlite, memory, postgrest, postgres\)/,
    );
  });

  it("names a bad driver option", async () => {
    await expect(createDriver("storage", { driver: "local", options: { rooot: "/tmp" } }, ctx(tempDir()))).rejects.toThrow(
      /storage\.options \(driver local\)/,
    );
  });

  it("a configuration error aborts the run before anything is written: the config is checked whole when loaded", () => {
    const home = tempDir();
    expect(() => testRuntime(home, { config: { catalog: { driver: "nosuch" } as never } })).toThrow(ConfigError);
    expect(readdirSync(home)).toEqual([]);
  });

  it("checks every driver's options when the config is loaded and reports every problem at once", () => {
    const bad = {
      catalog: { driver: "sqlit" },
      publisher: { driver: "socrata", options: { domain: "https://data.example.org/" } },
      storage: { driver: "s3", options: { queueSize: 99, endpont: "http://x" } },
    };
    expect(() => validateConfig(bad, "lake.config.yaml")).toThrow(
      "Invalid configuration in lake.config.yaml:\n" +
        "  storage.options.queueSize: Too big: expected number to be <=32\n" +
        '  storage.options: Unrecognized key: "endpont"\n' +
        '  catalog.driver: unknown driver "sqlit" (known: sqlite, memory, postgrest, postgres)\n' +
        "  publisher.options.domain: a host name with an optional :port, no scheme or path (e.g. data.austintexas.gov)",
    );
    expect(() => validateConfig({ catalog: { driver: "sqlite", timeoutMs: -1 } }, "x")).toThrow("catalog.timeoutMs: Too small");
    expect(() => validateConfig({ catalog: { driver: "sqlite", option: {} } }, "x")).toThrow('catalog: Unrecognized key: "option"');
  });

  it("reads secrets from env first, then the secrets file, and names a missing one without its value", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "secrets.json"), JSON.stringify({ CATALOG_KEY: "from-file", OTHER: "x" }));
    const s = createSecretSource("secrets.json", { CATALOG_KEY: "from-env" }, dir);
    expect(s.get("CATALOG_KEY")).toBe("from-env");
    expect(s.get("OTHER")).toBe("x");
    expect(() => s.require("SOCRATA_PASSWORD", "Socrata publisher")).toThrow(/Missing secret SOCRATA_PASSWORD \(Socrata publisher\)/);
  });
});

describe("names and keys", () => {
  const d = DateTime.fromISO("2019-06-01", { zone: "America/Chicago" });
  it("follows the original's naming", () => {
    expect(makeFilename("Austin", "bt", "unmatched.txt", d)).toBe("Austin_bt_2019-06-01_unmatched.txt");
    expect(makeFilename("Austin", "wt", "csv", d)).toBe("Austin_wt_2019-06-01.csv");
    expect(makeKey("gs", d, "Burnet_Richcreek_gs_2019-06-01.zip")).toBe("2019/06/01/gs/Burnet_Richcreek_gs_2019-06-01.zip");
  });

  it.each([["a/b"], ["..evil"], ["a\\b"], ["bad\u0001"], [""]])("rejects base %j", (bad) => {
    expect(() => validateIdPart("base", bad)).toThrow(TerminalError);
    expect(() => makeFilename(bad, "bt", "csv", d)).toThrow(/Invalid base/);
  });

  it("rejects a bad ext and writes nothing", async () => {
    const driver = new MemoryStorage();
    const catalog = new MemoryCatalog();
    const storage = new Storage(driver, "raw", "bt", new Catalog(catalog, "bt", { zone: "America/Chicago" }));
    await expect(storage.writeBuffer(Buffer.from("x"), storage.catalog.build("raw", "Austin", "../x", d, "p"))).rejects.toThrow(/Invalid ext/);
    expect(driver.repos.size).toBe(0);
    expect(catalog.rows.size).toBe(0);
  });
});

describe("secrets reach no output", () => {
  it("every secret the secret source hands out, and every value of the secrets file, is masked by the redactor", () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, "secrets.json"), JSON.stringify({ FILE_ONLY: "never-read-9931" }));
    const s = createSecretSource("secrets.json", { ENV_KEY: "env-value-5512" }, dir);
    expect(s.get("ENV_KEY")).toBe("env-value-5512");
    expect(redact("failed with env-value-5512 and never-read-9931")).toBe("failed with *** and never-read-9931");
    s.get("OTHER");
    expect(redact("failed with never-read-9931")).toBe("failed with ***");
  });
});
