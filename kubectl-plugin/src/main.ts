#!/usr/bin/env node
/** `kubectl-desktop`: kubectl runs it as `kubectl desktop …` with the arguments after `desktop`. */
import { run } from './cli';
import { processIo } from './io';

run(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`error: unexpected failure: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
