/**
 * Repair of a published day (`lake repair <source> --day D`, and the console's repair action): the rows the lake
 * published for that day are deleted at the destination (by the row ids the publish stages kept), the deletion is
 * recorded in perfmet (a job row of stage `repair`, records = rows deleted), and the source's publish stages run
 * again for the day with -F, each recording its own job row. A day whose destination rows were deleted or altered by
 * hand, or half-published, then holds exactly what the lake publishes.
 *
 * If the republish fails the day stays deleted at the destination: the audit shows it, and running the repair (or
 * the publish stage) again completes it.
 */
import { UsageError } from "../support/errors.js";
import { parseOptions } from "../support/etl-app.js";
import type { RunSummary } from "../support/events.js";
import { datasetTarget } from "../support/kit.js";
import { publishedIdsByDay } from "../support/published-ids.js";
import type { SourceRegistry } from "../support/registry.js";
import type { LakeRuntime } from "../support/runtime.js";
import { addDays, dayText, parseDay } from "../util/dates.js";
import { runStage, type PipelineLeases } from "./pipeline-run.js";

export interface RepairDataset {
  key: string;
  dataset: string;
  /** Row ids the lake had published for the day. */
  ids: number;
  /** Rows the destination said it deleted (null under -0, or when it does not say). */
  deleted: number | null;
}

export interface RepairReport {
  source: string;
  day: string;
  simulate: boolean;
  datasets: RepairDataset[];
  /** The publish stages run again for the day. */
  stages: RunSummary[];
}

export async function repairDay(
  runtime: LakeRuntime,
  registry: SourceRegistry,
  code: string,
  day: string,
  opts: { simulate?: boolean; debug?: boolean; leases?: PipelineLeases | undefined } = {},
): Promise<RepairReport> {
  const simulate = Boolean(opts.simulate);
  const debug = Boolean(opts.debug);
  if (!registry.has(code)) throw new UsageError(`lake repair: unknown source "${code}" (known: ${registry.codes().join(", ")})`);
  const start = parseDay(day, runtime.zone, "--day");
  const end = addDays(start, 1);
  const next = dayText(end);
  const source = await registry.source(code);
  const publishStages = source.stages.filter((s) => s.decl.kind === "publish");
  if (publishStages.length === 0) throw new UsageError(`lake repair: source ${code} has no publish stage`);

  const storage = await runtime.driver("storage", debug);
  const publisher = await runtime.driver("publisher", debug);
  const stateRepo = runtime.stateRepository(debug);
  const datasets: RepairDataset[] = [];
  let deletedRows = 0;
  const began = runtime.clock();
  for (const key of Object.keys(source.datasets ?? {})) {
    const { target, rowId } = datasetTarget(source, key, runtime.config.datasets, debug);
    const ids = (await publishedIdsByDay(storage, stateRepo, target, code, { from: day, to: next })).get(day) ?? [];
    let deleted: number | null = null;
    if (!simulate && ids.length > 0) {
      if (!publisher.capabilities.supportsDelete) {
        throw new UsageError(`lake repair: the ${publisher.driverName} publisher cannot delete rows, so ${target} cannot be repaired here`);
      }
      deleted = await publisher.delete(target, ids, rowId);
      deletedRows += deleted;
    }
    datasets.push({ key, dataset: target, ids: ids.length, deleted });
  }
  if (!simulate) {
    const perfmet = await runtime.driver("perfmet", debug);
    await perfmet.writeJob({
      data_source: source.name,
      stage: "repair",
      seconds: (runtime.clock() - began) / 1000,
      records: deletedRows,
      rows: deletedRows,
      processing_date: began,
      collection_start: start.toMillis(),
      collection_end: end.toMillis(),
    });
  }
  const stages: RunSummary[] = [];
  for (const stage of publishStages) {
    const argv = ["-s", day, "-e", next, "-F", ...(simulate ? ["-0"] : []), ...(debug ? ["--debug"] : [])];
    stages.push(await runStage(runtime, stage.App, parseOptions(stage.App, argv), opts.leases));
  }
  return { source: code, day, simulate, datasets, stages };
}

export function formatRepair(r: RepairReport): string {
  const lines = [`repair ${r.source} ${r.day}${r.simulate ? " (plan only: -0)" : ""}`];
  for (const d of r.datasets) {
    lines.push(`  ${d.dataset} (${d.key}): ${d.ids} row(s) published for the day${d.deleted === null ? (r.simulate && d.ids ? " would be deleted" : "") : `, ${d.deleted} deleted`}`);
  }
  for (const s of r.stages) lines.push(`  ${s.app}: ${s.processed} republished, ${s.failed} failed, ${s.records} rows`);
  return `${lines.join("\n")}\n`;
}
