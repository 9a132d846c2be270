/** The test stage behind the real terminal runner (exit codes, --json), for cli.test.ts. */
import { runMainCli } from "../../src/cli/entry.js";
import { ingestMain } from "./helpers.js";

process.exitCode = await runMainCli(ingestMain, process.argv.slice(2));
