/** Known sources: code → lazy import of its pipeline definition. */
import type { SourceModule } from "./types.js";

export const sources: Record<string, () => Promise<SourceModule>> = {
  wt: () => import("./wt/pipeline.js"),
  bt: () => import("./bt/pipeline.js"),
  gs: () => import("./gs/pipeline.js"),
};

export function sourceCodes(): string[] {
  return Object.keys(sources);
}
