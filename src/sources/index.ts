/**
 * The source registry: code → lazy import of its declaration (src/sources/<code>/source.ts). Adding a source is its
 * folder plus one line here.
 */
import type { SourceLoaders } from "../support/registry.js";

export const sources: SourceLoaders = {
  wt: () => import("./wt/source.js"),
  bt: () => import("./bt/source.js"),
  gs: () => import("./gs/source.js"),
  counters: () => import("./counters/source.js"),
  mds: () => import("./mds/source.js"),
  oeem: () => import("./oeem/source.js"),
  usage: () => import("./usage/source.js"),
  feeds: () => import("./feeds/source.js"),
};
