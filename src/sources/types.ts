/**
 * A source declares its stages in order (a pipeline), its nightly schedule, and how to make simulated source
 * systems for the demo. Registered in src/sources/index.ts.
 */
export interface ScheduledStage {
  /** Entry name, e.g. "wt-insert-lake". */
  stage: string;
  /** Local time HH:MM in the lake's zone. */
  time: string;
  /** Window flags, e.g. ["-r", "0", "-s", "60"]. */
  args: string[];
}

export interface DemoContext {
  /** Absolute lake home; simulated source systems go under <home>/sources/. */
  home: string;
  zone: string;
  /** First and last (exclusive) local days to simulate, YYYY-MM-DD. */
  from: string;
  to: string;
}

export interface SourcePipeline {
  /** Two-letter code (wt, bt, gs). */
  code: string;
  /** Long name (Wavetronix, Bluetooth, GRIDSMART). */
  name: string;
  /** Entry names in run order. */
  stages: string[];
  schedule: ScheduledStage[];
  /**
   * Creates the simulated source system for the demo and returns config overrides that point the source at it
   * (merged into `sources.<code>`), e.g. { sql: {driver:"sqlite", options:{path}} }.
   */
  simulate?(ctx: DemoContext): Promise<Record<string, unknown>>;
  /**
   * Starts anything the source's simulated system needs while stages run (e.g. a device API fake) and returns a
   * stop function plus config overrides for sources.<code>.
   */
  serve?(ctx: DemoContext): Promise<{ stop(): Promise<void>; sourceConfig: Record<string, unknown> }>;
}

export type SourceModule = { pipeline: SourcePipeline };
