/** @module ARIA's command-line entry point: `aria <verb> …` (see src/cli/). */
import { main } from "./cli/main.ts";

process.exitCode = await main(process.argv.slice(2));
