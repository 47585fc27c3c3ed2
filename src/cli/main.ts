#!/usr/bin/env -S node --min-semi-space-size=16
// The `orchestrator` command. Each capability registers its sub-commands from commands/.
// The V8 flag in the first line keeps the young generation at 16 MiB or more: while the server is
// idle V8 shrinks it to 1 MiB, and after that, under load, each scavenge promoted requests still in
// flight, filling the old generation (a poll load with idle pauses, docs/benchmarks.md "poll": in
// 5 of 8 server starts about 28,000 polls/s at 260 MiB RSS; with the flag, 8 of 8 at about 40,000
// and 150 MiB). It cannot be set once the process runs (v8.setFlagsFromString did not help) nor in
// NODE_OPTIONS; `npm start` passes it too. (NODE_OPTIONS=--max-semi-space-size=32 works as well.)
import { CommanderError, type Command } from 'commander';
import { AppError } from '../core/index.js';
import { VERSION } from '../version.js';
import { CliError } from './client.js';
import { registerAgent } from './commands/agent.js';
import { registerArtifacts } from './commands/artifacts.js';
import { registerDemo } from './commands/demo.js';
import { registerDevices } from './commands/devices.js';
import { registerEnrollmentKeys } from './commands/enrollment-keys.js';
import { registerGroups } from './commands/groups.js';
import { registerSimulate } from './commands/simulate.js';
import { registerKeys } from './commands/keys.js';
import { registerPolicies } from './commands/policies.js';
import { registerReleases } from './commands/releases.js';
import { registerRollouts } from './commands/rollouts.js';
import { registerServe } from './commands/serve.js';
import { registerSubscriptions } from './commands/subscriptions.js';
import { registerTokens } from './commands/tokens.js';
import { OrchestratorCommand } from './unknown-option.js';

export function buildProgram(): Command {
  const program = new OrchestratorCommand('orchestrator')
    .description('update-orchestrator: roll software out to fleets of often-offline devices')
    .version(VERSION)
    // Program options only before the sub-command, so `devices list --version '<2.0.0'` filters.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServe(program);
  registerTokens(program);
  registerDevices(program);
  registerGroups(program);
  registerRollouts(program);
  registerDemo(program);
  registerArtifacts(program);
  registerReleases(program);
  registerKeys(program);
  registerPolicies(program);
  registerSubscriptions(program);
  registerAgent(program);
  registerEnrollmentKeys(program);
  registerSimulate(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    if (error instanceof AppError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

await main();
