/**
 * Finding sources and stages: a map of source codes to lazy imports of their declarations (the project's is
 * src/sources/index.ts; tests and embedders pass their own). A stage is found by its full name
 * `<source code>-<stage>`: only its own source's module is imported.
 */
import type { BoundStage, SourceDefinition } from "./kit.js";
import { UsageError } from "./errors.js";

export type SourceModule = { default: SourceDefinition } | { source: SourceDefinition };
export type SourceLoaders = Record<string, () => Promise<SourceModule>>;

export class SourceRegistry {
  private readonly loaded = new Map<string, Promise<SourceDefinition>>();

  constructor(readonly loaders: SourceLoaders) {}

  /** Registered source codes, in registry order. */
  codes(): string[] {
    return Object.keys(this.loaders);
  }

  has(code: string): boolean {
    return Object.hasOwn(this.loaders, code);
  }

  /** A source's declaration; a UsageError naming the known codes for an unknown one. */
  source(code: string): Promise<SourceDefinition> {
    const load = Object.hasOwn(this.loaders, code) ? this.loaders[code] : undefined;
    if (!load) return Promise.reject(new UsageError(`Unknown source "${code}" (known: ${this.codes().join(", ") || "none"})`));
    let p = this.loaded.get(code);
    if (!p) {
      p = load().then(
        (mod) => {
          const def = "default" in mod ? mod.default : mod.source;
          if (!def || !Array.isArray(def.stages) || def.code !== code) {
            throw new UsageError(`Source "${code}": its module must export default defineSource({ code: "${code}", ... })`);
          }
          return def;
        },
        (err: unknown) => {
          throw new UsageError(`Source "${code}": its module could not be loaded: ${(err as Error).message}`, { cause: err });
        },
      );
      this.loaded.set(code, p);
      p.catch(() => this.loaded.delete(code));
    }
    return p;
  }

  /** Every source, loaded. */
  async all(): Promise<SourceDefinition[]> {
    return Promise.all(this.codes().map((c) => this.source(c)));
  }

  /** A stage by its full name; a UsageError naming the stages for an unknown one. */
  async stage(name: string): Promise<BoundStage> {
    const code = /^([a-z][a-z0-9]*)-/.exec(name)?.[1];
    if (!code || !this.has(code)) {
      const known = (await this.all()).flatMap((s) => s.stageNames);
      throw new UsageError(`Unknown stage "${name}" (known: ${known.join(", ") || "none"}); see \`lake list\``);
    }
    const source = await this.source(code);
    const hit = source.stages.find((s) => s.name === name);
    if (!hit) throw new UsageError(`Unknown stage "${name}" (stages of ${code}: ${source.stageNames.join(", ")}); see \`lake list\``);
    return hit;
  }

  /** Every stage of every source, in registry and run order. */
  async stages(): Promise<BoundStage[]> {
    return (await this.all()).flatMap((s) => s.stages);
  }
}
