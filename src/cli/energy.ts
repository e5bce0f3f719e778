import { join } from 'node:path';
import type { Command } from 'commander';
import { topRows } from '../core/matrix.js';
import { scaled } from '../data/dataset.js';
import { checkInputs, claimOutputs, type OutputSpec } from '../io/output-check.js';
import { writeFolder } from '../io/outputs.js';
import { comparePatchInpainting, ENERGY_DEFAULTS, energyCurveSpec, PATCH_METHODS, patchTable } from '../apps/energy.js';
import { encodePng } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import { chartFiles, chartNames, renderChart } from '../viz/vega.js';
import { evalData, loadModelFlag, recordedInputs } from './common.js';
import { UsageError } from './exit.js';
import { backendOption, intOption, numberFlag, seedOption } from './options.js';

/** The files ae energy-inpaint writes. */
const ENERGY_FILES = ['energy.md', 'energy.json', 'energy.png', ...chartNames('energy-curve')];

interface EnergyFlags {
  force?: boolean;
  model: string;
  patch: number;
  count: number;
  steps: number;
  lr: string;
  penalty: string;
  seed: number;
  show: number;
  out: string;
  json?: boolean;
  backend: string;
}

export function registerEnergyInpaint(program: Command): void {
  program
    .command('energy-inpaint')
    .description('fill grey patches by energy minimisation: the code whose decoding agrees with the known pixels (Figs. 10-11)')
    .requiredOption('--model <file>', 'a model.safetensors trained on MNIST (the denoising one works best)')
    .requiredOption('--out <dir>', 'folder for energy.png, energy-curve (.png, .svg, .vl.json), energy.md and energy.json')
    .addOption(intOption('--patch <k>', 'side of the grey square', { default: 10 }))
    .addOption(intOption('--count <n>', 'test digits to score', { default: 500 }))
    .addOption(intOption('--steps <n>', 'gradient steps on the codes', { default: ENERGY_DEFAULTS.steps, min: 0 }))
    .option('--lr <x>', "Adam's learning rate on the codes", String(ENERGY_DEFAULTS.lr))
    .option('--penalty <mu>', 'weight of the code prior mu·mean(z²)', String(ENERGY_DEFAULTS.penalty))
    .addOption(seedOption('seed of the patch positions'))
    .addOption(intOption('--show <n>', 'digits drawn in the figure', { default: 12 }))
    .option('--json', 'print the table as JSON')
    .addOption(backendOption())
    .action(async (f: EnergyFlags) => {
      const spec: OutputSpec = { path: f.out, kind: 'folder', files: ENERGY_FILES, force: f.force === true, inputs: [{ flag: '--model', path: f.model }] };
      const claim = claimOutputs(spec);
      const patch = f.patch;
      const count = f.count;
      const steps = f.steps;
      const lr = numberFlag('--lr', f.lr, 'a number > 0', (v) => v > 0);
      const penalty = numberFlag('--penalty', f.penalty, 'a number >= 0', (v) => v >= 0);
      const seed = f.seed;
      const show = f.show;
      const loaded = loadModelFlag(f.model, f.backend);
      checkInputs(spec, recordedInputs(loaded));
      const data = await evalData(loaded, undefined, count, {}, '--model');
      if (!data.image) throw new UsageError(`--model: expected a model of images, received rows of ${data.train.cols} values`);
      if (patch > Math.min(data.image.width, data.image.height)) throw new UsageError(`--patch: expected a side in [1, ${Math.min(data.image.width, data.image.height)}], received ${patch}`);
      const clean = scaled(data.test!, loaded.config.scaling);
      const c = await comparePatchInpainting(loaded.model, loaded.config.scaling, clean, { patch, count, seed, image: data.image, backend: loaded.model.backend, steps, lr, penalty });
      const k = Math.min(show, c.count);
      const rows = [c.images.patched, c.images.clean, ...PATCH_METHODS.map((m) => c.images[m])].map((m) => topRows(m, k));
      const labels = ['patched', 'clean', 'AE', 'Telea', 'energy min.', 'energy, kept'];
      const figure = encodePng(labelledRowsFigure(rows, labels, { ...data.image, range: [0, 1] }));
      const curve = await renderChart(energyCurveSpec(c.energies));
      const table = patchTable(c);
      const summary = { patch: c.patch, count: c.count, steps, lr, penalty, energyStart: c.energies[0], energyEnd: c.energies[c.energies.length - 1], scores: c.scores };
      writeFolder(f.out, [
        { name: 'energy.png', data: figure },
        ...chartFiles('energy-curve', curve).map(([name, data]) => ({ name, data })),
        { name: 'energy.md', data: `${table}\n\nRows of energy.png: ${labels.join(', ')}.\n` },
        { name: 'energy.json', data: JSON.stringify(summary, null, 2) + '\n' },
      ], claim.present);
      claim.release();
      process.stdout.write(f.json ? JSON.stringify(summary) + '\n' : `${table}\nwrote ${join(f.out, 'energy.png')}, ${chartNames('energy-curve').join(', ')}, energy.md, energy.json\n`);
    });
}
