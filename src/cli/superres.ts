import type { Command } from 'commander';
import { loadMnistDataset } from '../data/dataset.js';
import { writeOutputs } from '../io/outputs.js';
import { SUPERRES_FILES, superResolutionOutputs } from '../apps/superres.js';
import { claimOutputs } from '../io/output-check.js';
import { backendFrom } from './common.js';
import { backendOption, intFlag, intOption, limitOption, seedOption } from './options.js';
import { progressCallbacks } from './progress.js';

interface SuperResFlags {
  force?: boolean;
  factor: string;
  hidden: number;
  epochs: number;
  seed: number;
  limit?: number;
  show: number;
  out: string;
  json?: boolean;
  backend: string;
}

export function registerSuperResolution(program: Command): void {
  program
    .command('superres')
    .description('super-resolution at MNIST scale: learn to restore 28x28 digits from 14x14 or 7x7 ones, against bicubic up-scaling (Fig. 9)')
    .requiredOption('--out <dir>', 'folder for superres.png, superres.md, superres.json and the models')
    .option('--factor <f>', 'down-scaling factor: 2 (14x14), 4 (7x7), or "2,4" for both', '2,4')
    .addOption(intOption('--hidden <d>', 'hidden units of the 784→d→784 network', { default: 500 }))
    .addOption(intOption('--epochs <n>', 'training epochs', { default: 20 }))
    .addOption(seedOption('seed'))
    .addOption(limitOption('use only the first N training rows (and at most N test rows)'))
    .addOption(intOption('--show <n>', 'digits drawn in the figure', { default: 12 }))
    .option('--json', 'print the table as JSON')
    .addOption(backendOption())
    .action((f: SuperResFlags) => {
      const factors = f.factor.split(',').map((v) => intFlag('--factor', v));
      // An earlier run's models of other factors are its files too (replaced with --force, so two runs never mix).
      const claim = claimOutputs({ path: f.out, kind: 'folder', files: [...SUPERRES_FILES, ...factors.map((k) => `model-x${k}.safetensors`)], also: (n) => /^model-x\d+\.safetensors$/.test(n), force: f.force === true });
      const epochs = f.epochs;
      const limit = f.limit;
      const o = superResolutionOutputs({
        factors,
        hidden: f.hidden,
        epochs,
        seed: f.seed,
        show: f.show,
        backend: backendFrom(f.backend),
        data: () => loadMnistDataset(limit === undefined ? {} : { limit }),
        callbacks: () => progressCallbacks(epochs),
        log: (line) => process.stderr.write(`ae superres: ${line}\n`),
      });
      const paths = writeOutputs(f.out, o, claim.present);
      claim.release();
      process.stdout.write(f.json ? JSON.stringify(o.summary) + '\n' : `${o.text}\nwrote ${paths.join(', ')}\n`);
    });
}
