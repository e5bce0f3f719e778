import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  arrowsFigure,
  codeFigure,
  jacobianFigure,
  studySettings,
  travelFigure,
  DEFAULT_CONTRACTIVE,
  DEFAULT_EPOCHS,
  DEFAULT_NOISE,
  defaultLayers,
  manifoldMarkdown,
  manifoldStudy,
  manifoldText,
  resolveManifoldOptions,
  scheduleText,
  studySchedule,
  type ManifoldStudyOptions,
} from '../apps/manifold.js';
import { MANIFOLD_DATASETS } from '../data/manifolds.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { resolveSettings, VARIANTS } from '../train/recipe.js';
import { makeCorruption } from '../train/corruption.js';
import { encodePng } from '../viz/image.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { choiceFlag, intFlag, listFlag, numberFlag } from './options.js';

interface ManifoldFlags {
  dataset: string;
  variant: string;
  epochs?: string;
  seed: string;
  noise?: string;
  contractive?: string;
  layers?: string;
  tied?: boolean;
  grid?: string;
  json?: boolean;
  backend: string;
  out: string;
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
    .option('--epochs <n>', `passes over the 2000 training points (default ${DEFAULT_EPOCHS['two-branch']})`)
    .option('--seed <n>', 'seed of the data, the initial weights and the shuffles', '0')
    .option('--noise <spec>', `denoising corruption (default ${DEFAULT_NOISE['two-branch']} for two-branch, ${DEFAULT_NOISE.curve3d} for curve3d); only with --variant denoising`)
    .option('--contractive <lambda>', `weight of ‖∂h/∂x‖²_F (default ${DEFAULT_CONTRACTIVE['two-branch']}); only with --variant contractive`)
    .option('--layers <sizes>', `encoder sizes from the input to the code (default ${defaultLayers('two-branch', 'denoising').join(',')} for two-branch, ${defaultLayers('curve3d', 'denoising').join(',')} for curve3d, ${defaultLayers('two-branch', 'contractive').join(',')} contractive)`)
    .option('--tied', 'tie the decoder weights to the encoder (the default for contractive)')
    .option('--no-tied', 'separate decoder weights (the default for standard and denoising)')
    .option('--grid <n>', 'grid points per axis (default 61 in 2-D, 41 in 3-D)')
    .option('--json', 'print the summary as JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: ManifoldFlags) => {
      manifoldCommand(f);
    });
}

/** Checks every flag, and that the whole run's settings are valid, before training or writing anything. */
export function optionsFromFlags(f: ManifoldFlags): Omit<ManifoldStudyOptions, 'backend'> {
  const dataset = choiceFlag('--dataset', f.dataset, MANIFOLD_DATASETS);
  const variant = choiceFlag('--variant', f.variant, VARIANTS);
  if (f.noise !== undefined && variant !== 'denoising') throw new UsageError(`--noise: expected only with --variant denoising, received "${f.noise}" with --variant ${variant}`);
  if (f.contractive !== undefined && variant !== 'contractive') {
    throw new UsageError(`--contractive: expected only with --variant contractive, received "${f.contractive}" with --variant ${variant}`);
  }
  const o: Omit<ManifoldStudyOptions, 'backend'> = { dataset, variant, seed: intFlag('--seed', f.seed, 0) };
  if (f.epochs !== undefined) o.epochs = intFlag('--epochs', f.epochs);
  if (f.noise !== undefined) o.noise = f.noise;
  if (f.contractive !== undefined) o.contractive = numberFlag('--contractive', f.contractive, 'a penalty weight λ >= 0', (n) => n >= 0);
  if (f.layers !== undefined) o.layers = listFlag('--layers', f.layers);
  if (f.tied !== undefined) o.tied = f.tied;
  if (f.grid !== undefined) o.grid = intFlag('--grid', f.grid, 2);
  return o;
}

export function manifoldCommand(f: ManifoldFlags): void {
  const opts = optionsFromFlags(f);
  if (existsSync(f.out) && !statSync(f.out).isDirectory()) throw new UsageError(`--out: expected a directory, received the file "${f.out}"`);
  const backend = backendFrom(f.backend);
  // The study's own checks, the training settings' and the corruption's, all before training.
  const resolved = resolveManifoldOptions({ ...opts, backend });
  resolveSettings(studySettings(resolved));
  if (resolved.noise !== undefined) makeCorruption(resolved.noise, { range: [-1, 1], image: null });
  const every = Math.max(1, Math.round(resolved.epochs / 10));
  const study = manifoldStudy({
    ...opts,
    backend,
    onStart: () =>
      process.stderr.write(
        `ae: training ${[...resolved.layers, ...resolved.layers.slice(0, -1).reverse()].join('→')} (${resolved.variant}${resolved.tied ? ', tied' : ''}) on ${resolved.count} points of ${resolved.dataset}, ${resolved.epochs} epochs, ${scheduleText({ lr: resolved.lr, lrSchedule: studySchedule(resolved.epochs) ?? null, epochs: resolved.epochs })}, backend ${backend.name}\n`,
      ),
    onEpochEnd: (m) => {
      if (m.epoch % every === 0 || m.epoch === resolved.epochs) {
        process.stderr.write(`epoch ${m.epoch}/${resolved.epochs}  train ${m.trainLoss.toFixed(5)}  test ${m.testLoss?.toFixed(5)}\n`);
      }
    },
  });
  const s = study.summary;
  const files: Array<[string, string]> = [
    ['arrows.png', 'each grid point → its reconstruction (every few grid points), over the training data (Figs. 15–16)'],
    ['travel.png', 'each grid point coloured by the distance it travels, ‖x̂ − x‖; lighter is farther (Fig. 17)'],
  ];
  const jacobian = study.model.encoder.length === 1 && s.dataset === 'two-branch';
  if (jacobian) files.push(['jacobian.png', "each grid point coloured by the encoder's sensitivity ‖∂h/∂x‖_F, which the contractive penalty shrinks at the data"]);
  if (study.code) files.push(['code.png', 'the learned 1-D code against the helix parameter t, and the helix coloured by it (Figs. 18–19)']);
  files.push(['manifold.json', 'every number here, and the training curve']);
  ensureDir(f.out);
  writeFileAtomic(join(f.out, 'arrows.png'), encodePng(arrowsFigure(study)));
  writeFileAtomic(join(f.out, 'travel.png'), encodePng(travelFigure(study)));
  if (jacobian) writeFileAtomic(join(f.out, 'jacobian.png'), encodePng(jacobianFigure(study)));
  if (study.code) writeFileAtomic(join(f.out, 'code.png'), encodePng(codeFigure(study)));
  const history = study.history.map((m) => ({ epoch: m.epoch, lr: m.lr, trainLoss: m.trainLoss, testLoss: m.testLoss }));
  writeFileAtomic(join(f.out, 'manifold.json'), JSON.stringify({ ...s, backend: backend.name, history }, null, 2) + '\n');
  writeFileAtomic(join(f.out, 'manifold.md'), manifoldMarkdown(s, files.map(([name, what]) => `${name}: ${what}`)));
  process.stdout.write(f.json ? JSON.stringify(s) + '\n' : `${manifoldText(s)}\nwrote ${files.map(([n]) => join(f.out, n)).join(', ')}, ${join(f.out, 'manifold.md')}\n`);
}
