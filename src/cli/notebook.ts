import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { compareInpainting } from '../apps/inpaint.js';
import { writeInpainting } from './inpaint.js';
import { encodePng } from '../viz/image.js';
import { kernelsFigure } from '../viz/figures.js';
import { intFlag } from './options.js';
import { trainCommand, type TrainFlags } from './train.js';

interface NotebookFlags {
  out: string;
  epochs: string;
  count: string;
  limit?: string;
  force?: boolean;
  backend: string;
}

const TRAIN_DEFAULTS = {
  data: 'mnist',
  activation: 'tanh',
  loss: 'mse',
  batch: '256',
  lr: '1e-3',
  optimizer: 'adam',
  momentum: '0.9',
  seed: '0',
  sparse: '0',
  weightDecay: '0',
};

/**
 * `npm start`: the companion notebook end to end. It trains the standard 784→30→784 and the
 * denoising 784→500→784 (dropout 0.5) autoencoders, and writes their reconstructions
 * (Figs. 20–21), their encoder kernels (Figs. 22–23), the inpainting comparison with OpenCV
 * (Figs. 24–27), and an index of what it wrote.
 */
export function registerNotebook(program: Command): void {
  program
    .command('notebook')
    .description("the companion notebook end to end: standard and denoising models, reconstructions, kernels, inpainting vs OpenCV")
    .requiredOption('--out <dir>', 'folder for everything (standard/, denoising/, inpainting/, index.md)')
    .option('--epochs <n>', 'epochs per model', '20')
    .option('--count <n>', 'test digits in the inpainting comparison', '1000')
    .option('--limit <n>', 'use only the first N training rows (and at most N test rows)')
    .option('--force', 'replace models already in --out')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action(async (f: NotebookFlags) => {
      const epochs = intFlag('--epochs', f.epochs);
      const count = intFlag('--count', f.count);
      const common = { ...TRAIN_DEFAULTS, epochs: String(epochs), backend: f.backend, ...(f.limit ? { limit: f.limit } : {}), ...(f.force ? { force: true } : {}) };
      const standardDir = join(f.out, 'standard');
      const denoisingDir = join(f.out, 'denoising');
      const standard = await trainCommand({ ...common, hidden: '30', out: standardDir } as TrainFlags);
      const denoising = await trainCommand({ ...common, hidden: '500', variant: 'denoising', noise: 'dropout:0.5', out: denoisingDir } as TrainFlags);
      const image = standard.image!;
      for (const [dir, t] of [[standardDir, standard], [denoisingDir, denoising]] as const) {
        writeFileAtomic(join(dir, 'kernels.png'), encodePng(kernelsFigure(t.run.model.encoder[0]!.weight.valueMatrix, image)));
      }
      process.stderr.write(`ae: inpainting ${count} test digits with the denoising model and with OpenCV\n`);
      const inpDir = join(f.out, 'inpainting');
      const d = denoising.run;
      const c = await compareInpainting(d.model, d.config.scaling, d.test!, { noise: 'dropout:0.5', count, seed: 0, image, backend: d.model.backend });
      const { table } = writeInpainting(inpDir, c, image, 12);
      const last = (t: typeof standard) => t.history[t.history.length - 1]!;
      const s = last(standard);
      const dn = last(denoising);
      const index = `# The notebook, reproduced

${epochs} epochs each on ${standard.run.train.rows} MNIST digits, Adam lr 1e-3, batch 256, MSE, tanh after every linear map, inputs in [-1, 1]; backend ${standard.run.model.backend.name}.

| file | what it shows |
|---|---|
| standard/model.safetensors | the standard 784→30→784 autoencoder (loads into the notebook's PyTorch module) |
| standard/reconstructions.png | test digits (top) and their reconstructions (bottom), Fig. 20 |
| standard/kernels.png | the 30 encoder kernels as 28×28 images, Fig. 22 |
| standard/metrics.json | per-epoch losses and timings |
| denoising/model.safetensors | the denoising 784→500→784 autoencoder, trained on dropout:0.5 corruption |
| denoising/reconstructions.png | clean digits, their corrupted copies, and the reconstructions of the corrupted ones, Fig. 21 |
| denoising/kernels.png | the 500 encoder kernels, Fig. 23 |
| denoising/metrics.json | per-epoch losses, including the loss on corrupted test digits |
| inpainting/inpainting.png | rows: mask (white = missing), corrupted, clean, AE, AE with known pixels kept, OpenCV Telea, OpenCV Navier–Stokes (Figs. 24–27) |
| inpainting/inpainting.md | the table below |

Standard model: test MSE ${s.testLoss?.toFixed(5)}.
Denoising model: test MSE ${dn.testLoss?.toFixed(5)} on clean digits, ${dn.testLossCorrupted?.toFixed(5)} on dropout-corrupted ones.

${table}
`;
      writeFileAtomic(join(f.out, 'index.md'), index);
      process.stdout.write(index);
    });
}
