/**
 * The framework, as `import { ... } from "lakeflow"`: the source kit and registry, the stage base class and its loop,
 * the runtime, the interfaces and their wrappers, errors and events, the driver definition, and the orchestration of
 * stages over days.
 * Each source is `lakeflow/sources/<code>`, each stage `lakeflow/stages/<stage>` (package.json `exports`).
 */
export * from "./support/etl-app.js";
export * from "./support/runtime.js";
export * from "./support/last-update.js";
export * from "./support/catalog.js";
export * from "./support/storage.js";
export * from "./support/publisher.js";
export * from "./support/perfmet.js";
export * from "./support/unitdata.js";
export * from "./support/identifier.js";
export * from "./support/events.js";
export * from "./support/errors.js";
export * from "./support/resilience.js";
export type * from "./support/drivers.js";
export type * from "./support/block-store.js";
export { defineDriver, type DriverContext, type DriverModule, type SecretSource } from "./drivers/define.js";
export * from "./support/kit.js";
export * from "./support/registry.js";
export { runPipelines, runStage, type StageResult, type PipelineLeases } from "./orchestration/pipeline-run.js";
export { runBackfill, planRange, type BackfillPlan, type BackfillOptions, type BackfillResult } from "./orchestration/backfill.js";
export { openBlockStore } from "./orchestration/blocks.js";
export { defaultRegistry } from "./orchestration/pipelines.js";
export { demo, type DemoOptions, type DemoResult } from "./orchestration/demo.js";
