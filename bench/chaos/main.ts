/**
 * `npm run chaos -- [--kills N] [--faults] [--json] [--seed S] [--concurrency C] [--kills-per-trial K] [--keep]`
 * Prints the table (or, with --json, one JSON object on stdout; progress goes to stderr). Exit code 1 when anything
 * was lost, duplicated or differs, or a rerun never completed; 2 for a usage error.
 */
import { formatTable, runChaos } from "./index.js";
import { SYSTEMS, type System } from "./faults.js";
import { FAULT_KINDS, type FaultKind } from "./proxy.js";

function usage(msg: string): never {
  process.stderr.write(`chaos: ${msg}\nusage: npm run chaos -- [--kills N] [--faults] [--json] [--seed S] [--concurrency C] [--kills-per-trial K]\n  [--fault-concurrency C] [--systems ${SYSTEMS.join(",")}] [--kinds ${FAULT_KINDS.join(",")}] [--keep] [--work DIR]\n`);
  process.exit(2);
}

const argv = process.argv.slice(2);
let kills = 10;
let faults = false;
let json = false;
let keep = false;
let seed = Math.floor(Math.random() * 2 ** 31);
let concurrency = 1;
let killsPerTrial = 1;
let work: string | undefined;
let faultConcurrency = 3;
let systems: System[] | undefined;
let kinds: FaultKind[] | undefined;
const int = (v: string | undefined, name: string, min: number) => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) usage(`${name} takes an integer ≥ ${min}`);
  return n;
};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === "--kills") kills = int(argv[++i], a, 0);
  else if (a === "--faults") faults = true;
  else if (a === "--json") json = true;
  else if (a === "--keep") keep = true;
  else if (a === "--seed") seed = int(argv[++i], a, 0);
  else if (a === "--concurrency") concurrency = int(argv[++i], a, 1);
  else if (a === "--kills-per-trial") killsPerTrial = int(argv[++i], a, 1);
  else if (a === "--fault-concurrency") faultConcurrency = int(argv[++i], a, 1);
  else if (a === "--systems") {
    systems = (argv[++i] ?? "").split(",") as System[];
    if (!systems.every((x) => SYSTEMS.includes(x))) usage(`--systems takes some of ${SYSTEMS.join(",")}`);
  } else if (a === "--kinds") {
    kinds = (argv[++i] ?? "").split(",") as FaultKind[];
    if (!kinds.every((x) => FAULT_KINDS.includes(x))) usage(`--kinds takes some of ${FAULT_KINDS.join(",")}`);
  } else if (a === "--work") work = argv[++i] ?? usage("--work takes a folder");
  else usage(`unknown argument ${a}`);
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const report = await runChaos({ kills, faults, seed, concurrency, killsPerTrial, keep, faultConcurrency, ...(systems ? { systems } : {}), ...(kinds ? { kinds } : {}), ...(work ? { work } : {}), log });
// Exit once the output is written: a vendor client's idle socket must not keep the harness alive.
process.stdout.write(json ? `${JSON.stringify(report)}\n` : `\n${formatTable(report)}\n`, () => process.exit(report.ok ? 0 : 1));
