/**
 * gs-insert-lake (original §9.3.1): GRIDSMART field devices → raw. For every inventory device that passes the
 * filters (not removed, with a location, first of its IP, -f regex on "primary_cross"), the device API gives its site,
 * clock, hardware and the days with counts; each day not yet in raw is downloaded as
 * `<base>_gs_<day>.zip` (base = site Street1_Street2, "/" → "&"), and once per base per run a site file
 * `<base>_gs_<today>_site.json` is stored, after the day's counts were (fixes B41). Unit data goes into raw at the
 * first stored item. A device that cannot be reached is reported and the run goes on; every request has a timeout
 * (fixes B17); devices are contacted a few at a time (sources.gs.concurrency); temp files are always removed (B42).
 */
import path from "node:path";
import { rm } from "node:fs/promises";
import { DateTime } from "luxon";
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, ListProvider, type ProvItem, type UpdateItem } from "../support/last-update.js";
import { UsageError, errorMessage } from "../support/errors.js";
import { validateIdPart } from "../support/identifier.js";
import { limiter } from "../support/resilience.js";
import { pyStr } from "../util/dates.js";
import { deviceBaseUrl, readGsConfig, type GsSourceConfig } from "../sources/gs/config.js";
import { DeviceApi, hostTimeUtc } from "../sources/gs/device-api.js";
import { selectDevices, type DeviceCandidate } from "../sources/gs/devices.js";
import { GS_EXT, siteBase, type GsDateTime, type GsSite, type GsSiteFile } from "../sources/gs/types.js";

/** A device that answered: what the site file is made of and the days it has. */
export interface ReachedDevice {
  candidate: DeviceCandidate;
  api: DeviceApi;
  base: string;
  site: GsSite;
  datetime: GsDateTime;
  hardwareInfo: Record<string, unknown>;
  days: string[];
}

function parseFilter(value: string): RegExp {
  try {
    return new RegExp(value);
  } catch (err) {
    throw new UsageError(`-f/--name_filter ${JSON.stringify(value)} is not a valid regular expression: ${errorMessage(err)}`);
  }
}

export class GsInsertLake extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "gs-insert-lake",
    description: "GRIDSMART: field devices → raw day archives, site files and unit data",
    dataSource: "gs",
    stage: "Ingest",
    purposeTgt: "raw",
  };
  static readonly options: CustomOption[] = [
    { flags: "-f, --name_filter <regex>", description: 'only devices whose "primary_cross" street text matches (search)', default: ".*" },
  ];

  private cfg!: GsSourceConfig;
  private readonly sitesStored = new Set<string>();
  /** Devices contacted, their bases, and the ones that failed (for tests and the summary). */
  readonly reached: ReachedDevice[] = [];

  /** Contacts one device: site, clock (with this host's UTC time), hardware info, days with counts. */
  private async reach(c: DeviceCandidate): Promise<ReachedDevice> {
    const api = new DeviceApi(deviceBaseUrl(this.cfg.deviceUrl, c.ip), {
      timeoutMs: this.cfg.timeoutMs,
      downloadTimeoutMs: this.cfg.downloadTimeoutMs,
      retry: this.runtime.retry,
    });
    const site = await api.site();
    const dt = await api.datetime();
    const datetime: GsDateTime = { DateTime: dt.DateTime, TimeZoneId: dt.TimeZoneId, HostTimeUTC: hostTimeUtc(this.runtime.clock()) };
    const hardwareInfo = await api.hardwareInfo();
    const days = await api.countDays();
    const loc = site?.Location;
    if (!loc || typeof loc.Street1 !== "string") throw new Error(`site.json has no Location.Street1`);
    const cams = site.CameraDevices ?? [];
    if (cams.length > 1) this.log("warn", `${c.ip}: ${cams.length} camera devices; all are read from the archives`);
    const base = validateIdPart("base", siteBase(loc.Street1, loc.Street2));
    return { candidate: c, api, base, site, datetime, hardwareInfo, days };
  }

  protected async etlActivity(): Promise<number> {
    this.cfg = readGsConfig(this.runtime.sourceConfig("gs"));
    const filter = parseFilter(String(this.options.name_filter ?? ".*"));
    const sel = selectDevices((await this.fetchUnitData()).devices, filter);
    for (const w of sel.warnings) this.log("warn", w);
    this.log("info", `${sel.selected.length} GRIDSMART device(s) to contact, ${sel.skipped.length} left out`);

    const limit = limiter(this.cfg.concurrency);
    const results = await Promise.all(
      sel.selected.map((c) =>
        limit(async () => {
          try {
            return await this.reach(c);
          } catch (err) {
            this.recordFailure(`device ${c.ip} (${c.streets})`, err);
            return undefined;
          }
        }),
      ),
    );
    const bases = new Map<string, string>();
    for (const r of results) {
      if (!r) continue;
      const other = bases.get(r.base);
      if (other) {
        this.recordFailure(`device ${r.candidate.ip}`, new Error(`its site names the same intersection ${r.base} as device ${other}; skipped`));
        continue;
      }
      bases.set(r.base, r.candidate.ip);
      this.reached.push(r);
    }
    this.log("info", `Devices reached: ${this.reached.length}; failures: ${sel.selected.length - this.reached.length}`);

    const source = new ListProvider<ReachedDevice>(() => {
      const items: ProvItem<ReachedDevice>[] = [];
      for (const r of this.reached) {
        for (const day of r.days) {
          const date = DateTime.fromISO(day, { zone: this.zone });
          if (!date.isValid) continue;
          items.push({ base: r.base, ext: GS_EXT.zip, date, payload: r, label: `${day}_${r.base}.zip` });
        }
      }
      // Date order, then device order (original LastUpdGSProv).
      const order = new Map(this.reached.map((r, i) => [r, i]));
      return items.sort((a, b) => a.date.toMillis() - b.date.toMillis() || order.get(a.payload)! - order.get(b.payload)!);
    }, this.providerOptions());
    const target = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(source, target, { baseExtKey: false });
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const dev = item.provItem.payload as ReachedDevice;
    const storage = this.storageTgt!;
    const day = item.date.toFormat("yyyy-MM-dd");
    const file = path.join(await this.tempDir(), `${day}_${item.base}.zip`);
    try {
      const bytes = await dev.api.downloadDay(day, file);
      await this.storeUnitDataOnce(storage);
      const element = storage.createCatalogElement(item.base, GS_EXT.zip, item.date, { processingDate: this.processingDate });
      await storage.writeFile(file, element, { cache: true, contentType: "application/zip" });
      this.addRecords(1);
      this.log("info", `${item.label} -> ${storage.repository} (${bytes} bytes)`);
    } finally {
      await rm(file, { force: true });
    }
    // The site file only once the day's counts are stored (fixes B41), once per base per run.
    if (!this.sitesStored.has(item.base)) {
      await this.storeSiteFile(dev);
      this.sitesStored.add(item.base);
    }
    return 1;
  }

  /** `{header, site, datetime, hardware_info}` dated today (the day it was read), staged catalog row. */
  private async storeSiteFile(dev: ReachedDevice): Promise<void> {
    const today = this.today();
    const siteFile: GsSiteFile = {
      header: {
        data_type: "gs_site",
        target_filename: `${dev.base}_site_${today.toFormat("yyyy-MM-dd")}.json`,
        collection_date: pyStr(today),
        device_net_addr: dev.candidate.ip,
      },
      site: dev.site,
      datetime: dev.datetime,
      hardware_info: dev.hardwareInfo,
    };
    const element = this.storageTgt!.createCatalogElement(dev.base, GS_EXT.site, today, { processingDate: this.processingDate });
    await this.storageTgt!.writeJSON(siteFile, element, { cache: true });
  }
}

export const App = GsInsertLake;
export const main = makeMain(App);
