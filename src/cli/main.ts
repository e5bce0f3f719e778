#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerEval } from './eval.js';
import { registerKernels } from './kernels.js';
import { registerInpaint } from './inpaint.js';
import { registerLab } from './lab.js';
import { registerNotebook } from './notebook.js';
import { registerAnomaly } from './anomaly.js';
import { registerScore } from './score.js';
import { registerDecode, registerEncode } from './codes.js';
import { registerRateDistortion } from './rd.js';
import { registerManifold } from './manifold.js';
import { registerInterpolate } from './interpolate.js';
import { registerEnergyInpaint } from './energy.js';
import { registerSuperResolution } from './superres.js';
import { errorLine, exitCodeFor } from './exit.js';
import { registerReconstruct } from './reconstruct.js';
import { registerTrain } from './train.js';
import { registerInfo } from './info.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { BACKEND_CHOICES } from '../backends/index.js';
import { FIX_COMMAND, JS_SLOWDOWN } from '../backends/info.js';
import { addonStatus, checkThreads, setDefaultThreads } from '../backends/native/index.js';

/**
 * Before every command: applies --threads, and when the native backend may be used but its
 * addon does not load, warns first (the backend in use, the slowdown, the fix), so a slow run
 * is never a mystery.
 */
function beforeCommand(cmd: Command): void {
  const o = cmd.opts() as { backend?: unknown; threads?: unknown };
  if (o.threads !== undefined) setDefaultThreads(checkThreads('--threads', o.threads));
  const choice = typeof o.backend === 'string' && (BACKEND_CHOICES as readonly string[]).includes(o.backend) ? o.backend : 'auto';
  const effective = choice === 'auto' ? process.env.AEKIT_BACKEND || 'auto' : choice;
  if (effective !== 'auto') return; // js was asked for; native, if missing, fails with its own message
  const status = addonStatus();
  if (!status.ok) {
    process.stderr.write(`ae: warning: the native backend is not available, so this runs on the js backend, ${JS_SLOWDOWN} slower; fix: ${FIX_COMMAND}\n`);
  }
}

const OUTPUT_COMMANDS = ['export', 'encode', 'decode', 'interpolate', 'kernels', 'reconstruct', 'inpaint', 'rd', 'superres', 'energy-inpaint', 'lab', 'manifold', 'anomaly', 'score'];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('ae')
    .description('Autoencoders from the NYU Deep Learning lecture: train, evaluate and picture them')
    .version('0.1.0')
    .option('--debug', 'print stack traces')
    .exitOverride()
    .showSuggestionAfterError(true)
    // Commander's own messages are printed by main, as one line, like every other error.
    .configureOutput({ outputError: () => {} });
  registerTrain(program);
  registerEval(program);
  registerReconstruct(program);
  registerKernels(program);
  registerInpaint(program);
  registerLab(program);
  registerNotebook(program);
  registerInterpolate(program);
  registerAnomaly(program);
  registerScore(program);
  registerEncode(program);
  registerDecode(program);
  registerRateDistortion(program);
  registerEnergyInpaint(program);
  registerSuperResolution(program);
  registerManifold(program);
  registerImport(program);
  registerExport(program);
  registerInfo(program);
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ outputError: () => {} });
    // Commands writing an --out file or folder refuse to replace outputs unless told (train and notebook have their own --force).
    if (OUTPUT_COMMANDS.includes(c.name()) && !c.options.some((opt) => opt.long === '--force')) c.option('--force', 'replace existing outputs in --out');
    if (c.options.some((opt) => opt.long === '--backend')) {
      c.option('--threads <n>', 'threads for the native backend (default: AEKIT_THREADS, else every core this process may use)');
    }
    c.hook('preAction', (_parent, action) => beforeCommand(action));
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // `ae` alone asks for the help: on stdout, exit 0 (commander would print it on stderr).
  if (argv.length === 0) {
    process.stdout.write(program.helpInformation());
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    const code = exitCodeFor(err);
    if (err instanceof CommanderError && code === 0) return 0;
    process.stderr.write(errorLine(err) + '\n');
    if (argv.includes('--debug') && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return code;
  }
}

process.exitCode = await main(process.argv.slice(2));
