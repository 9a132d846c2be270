/**
 * wt-insert-lake (original §9.2.1): KITS database → raw. One CSV per day with data,
 * `<YYYY>/<MM>/<DD>/wt/Austin_wt_<YYYY-MM-DD>.csv`, catalogued as (Austin, csv, day).
 * The day list comes from the database (SqlDayProvider), compared on base alone with the raw catalog.
 */
import type { DateTime } from "luxon";
import { ETLApp, makeMain, type AppDefinition, type CustomOption } from "../support/etl-app.js";
import { CatalogProvider, SqlDayProvider, type UpdateItem } from "../support/last-update.js";
import { runIfMain } from "../support/cli-entry.js";
import { ConfigError } from "../support/errors.js";
import type { SqlDriver } from "../support/drivers.js";
import { addDays } from "../util/dates.js";
import { readWtConfig } from "../sources/wt/config.js";
import { wtQueries, type KitsRow, type WtQueries } from "../sources/wt/queries.js";
import { kitsCsvBytes } from "../sources/wt/transform.js";

const WALL = "yyyy-MM-dd HH:mm:ss";

export class WtInsertLake extends ETLApp {
  static readonly definition: AppDefinition = {
    name: "wt-insert-lake",
    description: "Wavetronix: KITS database → raw CSV per day",
    dataSource: "wt",
    stage: "Ingest",
    purposeTgt: "raw",
  };
  static readonly options: CustomOption[] = [];

  private db!: SqlDriver;
  private queries!: WtQueries;

  protected async etlActivity(): Promise<number> {
    const cfg = readWtConfig(this.runtime.sourceConfig("wt"));
    if (!cfg.sql) {
      throw new ConfigError(
        'sources.wt.sql is not set: give the KITS database as a SQL driver, e.g. sources.wt.sql = {driver: "mssql", options: {...}} (or run `lake demo` for a simulated one)',
      );
    }
    this.queries = wtQueries(cfg.tables);
    this.db = await this.runtime.driver("sql", this.debug, cfg.sql);
    const area = this.runtime.config.areaBase;
    const source = new SqlDayProvider(this.db, this.queries, area, "csv", this.zone, this.providerOptions());
    const target = new CatalogProvider(this.catalog, this.storageTgt!.repository, {}, this.providerOptions());
    return this.doCompareLoop(source, target, { baseExtKey: false });
  }

  /** The readings of one local day [00:00, next 00:00): 23, 24 or 25 hours of wall clock. */
  private async dayRows(day: DateTime): Promise<KitsRow[]> {
    const { sql, params } = this.queries.retrieval(this.db.dialect, { start: day.toFormat(WALL), end: addDays(day, 1).toFormat(WALL) });
    return this.db.query<KitsRow>(sql, params);
  }

  protected override async innerLoopActivity(item: UpdateItem): Promise<number> {
    const rows = await this.dayRows(item.date);
    const csv = kitsCsvBytes(rows, rows.length);
    rows.length = 0; // let the day's rows go before the upload
    const element = this.storageTgt!.createCatalogElement(item.base, item.ext, item.date, { processingDate: this.processingDate });
    await this.storageTgt!.writeBuffer(csv.body, element, { contentType: "text/csv" });
    this.addRecords(csv.rows);
    if (csv.rows === 0) this.log("warn", `${item.label}: the day has readings but none of their DETIDs is in the detector table; wrote the header only`);
    this.log("info", `${item.label} -> ${this.storageTgt!.repository}: ${csv.rows} rows`);
    return 1;
  }
}

export const App = WtInsertLake;
export const main = makeMain(App);
runIfMain(import.meta.url, main);
