/**
 * What a command that runs stages needs, as one lazy import. The commands load it when they run, so `lake --help`
 * and `lake list` do not; and one module in place of ten separate imports is one bundle chunk to load instead of ten
 * (each ES module costs its own resolve, read and link: start-up, see docs/architecture.md).
 */
export { defaultRegistry } from "../orchestration/pipelines.js";
export { buildCommand, flagCommand, parseFlags, parseOptions, STANDARD_OPTIONS } from "../support/etl-app.js";
export { printSummary, exitCodeFor, reportError } from "./entry.js";
export { attachConsole } from "./console.js";
export { runStage, runPipelines, formatPipelineSummary, pipelineExitCode } from "../orchestration/pipeline-run.js";
export { LakeRuntime } from "../support/runtime.js";
export { serveSimulatedSources } from "../orchestration/simulated.js";
export { blockStoreSpec, openBlockStore } from "../orchestration/blocks.js";
export { makeNotice, notifyRun, noticeSummary } from "../support/notify.js";
export { ConfigError } from "../support/errors.js";
