import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONTRACTIVE, DEFAULT_EPOCHS, DEFAULT_NOISE, defaultLayers, runManifoldStudy, type ManifoldStudyOptions } from '../apps/manifold.js';
import { MANIFOLD_DATASETS } from '../data/manifolds.js';
import { claimOutputs } from '../io/output-check.js';
import { writeFolder } from '../io/outputs.js';
import { VARIANTS } from '../train/recipe.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { backendOption, choiceFlag, intFlag, intOption, listFlag, numberFlag, seedOption } from './options.js';

interface ManifoldFlags {
  dataset: string;
  variant: string;
  epochs?: number;
  seed: number;
  noise?: string;
  contractive?: string;
  layers?: string;
  tied?: boolean;
  grid?: string;
  json?: boolean;
  backend: string;
  out: string;
  force?: boolean;
}

export function registerManifold(program: Command): void {
  program
    .command('manifold')
    .description(
      "what a denoising or contractive autoencoder does near the data manifold (Figs. 15-19): grid points -> reconstructions, travel vs distance to the manifold",
    )
    .requiredOption('--out <dir>', 'folder for arrows.png, travel.png, code.png (curve3d), manifold.json and manifold.md')
    .option('--dataset <name>', `${MANIFOLD_DATASETS.join('|')}: two arcs in 2-D, or a helix in 3-D`, 'two-branch')
    .option('--variant <name>', VARIANTS.join('|'), 'denoising')
    .addOption(intOption('--epochs <n>', `passes over the 2000 training points (default ${DEFAULT_EPOCHS['two-branch']})`))
    .addOption(seedOption('seed of the data, the initial weights and the shuffles'))
    .option('--noise <spec>', `denoising corruption (default ${DEFAULT_NOISE['two-branch']} for two-branch, ${DEFAULT_NOISE.curve3d} for curve3d); only with --variant denoising`)
    .option('--contractive <lambda>', `weight of ‖∂h/∂x‖²_F (default ${DEFAULT_CONTRACTIVE['two-branch']}); only with --variant contractive`)
    .option('--layers <sizes>', `encoder sizes from the input to the code (default ${defaultLayers('two-branch', 'denoising').join(',')} for two-branch, ${defaultLayers('curve3d', 'denoising').join(',')} for curve3d, ${defaultLayers('two-branch', 'contractive').join(',')} contractive)`)
    .option('--tied', 'tie the decoder weights to the encoder (the default for contractive)')
    .option('--no-tied', 'separate decoder weights (the default for standard and denoising)')
    .option('--grid <n>', 'grid points per axis (default 61 in 2-D, 41 in 3-D)')
    .option('--json', 'print the summary as JSON')
    .addOption(backendOption())
    .action(async (f: ManifoldFlags) => {
      await manifoldCommand(f);
    });
}

/** Checks every flag's own form; the study checks the whole run's settings before training. */
export function optionsFromFlags(f: ManifoldFlags): Omit<ManifoldStudyOptions, 'backend'> {
  const dataset = choiceFlag('--dataset', f.dataset, MANIFOLD_DATASETS);
  const variant = choiceFlag('--variant', f.variant, VARIANTS);
  if (f.noise !== undefined && variant !== 'denoising') throw new UsageError(`--noise: expected only with --variant denoising, received "${f.noise}" with --variant ${variant}`);
  if (f.contractive !== undefined && variant !== 'contractive') {
    throw new UsageError(`--contractive: expected only with --variant contractive, received "${f.contractive}" with --variant ${variant}`);
  }
  const o: Omit<ManifoldStudyOptions, 'backend'> = { dataset, variant, seed: f.seed };
  if (f.epochs !== undefined) o.epochs = f.epochs;
  if (f.noise !== undefined) o.noise = f.noise;
  if (f.contractive !== undefined) o.contractive = numberFlag('--contractive', f.contractive, 'a penalty weight λ >= 0', (n) => n >= 0);
  if (f.layers !== undefined) o.layers = listFlag('--layers', f.layers);
  if (f.tied !== undefined) o.tied = f.tied;
  if (f.grid !== undefined) o.grid = intFlag('--grid', f.grid, 2);
  return o;
}

/** Nothing is written until the study has run: bad settings leave --out untouched. */
export async function manifoldCommand(f: ManifoldFlags): Promise<void> {
  const opts = optionsFromFlags(f);
  // The files every study writes (jacobian.png and code.png only for some).
  const claim = claimOutputs({ path: f.out, kind: 'folder', files: ['arrows.png', 'arrows.svg', 'arrows.vl.json', 'travel.png', 'manifold.json', 'manifold.md'], also: (n) => n === 'jacobian.png' || n === 'code.png', force: f.force === true });
  try {
    const run = await runManifoldStudy({ ...opts, backend: backendFrom(f.backend), log: (line) => process.stderr.write(line + '\n') });
    writeFolder(f.out, run.files.map((file) => ({ name: file.name, data: file.contents })), claim.present);
    process.stdout.write(f.json ? JSON.stringify(run.summary) + '\n' : `${run.text}\nwrote ${run.files.map((file) => join(f.out, file.name)).join(', ')}\n`);
  } finally {
    claim.release();
  }
}
