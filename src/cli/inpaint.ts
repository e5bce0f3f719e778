import type { Command } from 'commander';
import { scaled } from '../data/dataset.js';
import { compareInpainting, INPAINT_FILES, inpaintingOutputs } from '../apps/inpaint.js';
import { writeOutputs } from '../io/outputs.js';
import { checkInputs, claimOutputs, type OutputSpec } from '../io/output-check.js';
import { evalData, loadModelFlag, recordedInputs } from './common.js';
import { UsageError } from './exit.js';
import { backendOption, intOption, seedOption } from './options.js';

interface InpaintFlags {
  force?: boolean;
  model: string;
  noise: string;
  count: number;
  show: number;
  seed: number;
  data?: string;
  out: string;
  json?: boolean;
  backend: string;
}

export function registerInpaint(program: Command): void {
  program
    .command('inpaint')
    .description("restore corrupted test digits with the autoencoder and with OpenCV's Telea and Navier-Stokes inpainting (Figs. 24-27)")
    .requiredOption('--model <file>', 'a model.safetensors written by ae train (the notebook uses its denoising model)')
    .requiredOption('--out <dir>', 'folder for inpainting.png, inpainting.md and inpainting.json')
    .option('--noise <spec>', 'the corruption: dropout:p, mask:p, saltpepper:p or patch:k', 'dropout:0.5')
    .addOption(intOption('--count <n>', 'test digits to score', { default: 1000 }))
    .addOption(intOption('--show <n>', 'digits drawn in the figure', { default: 12 }))
    .addOption(seedOption('seed of the corruption'))
    .option('--data <source>', '"mnist" (default: what the model was trained on)')
    .option('--json', 'print the table as JSON')
    .addOption(backendOption())
    .action(async (f: InpaintFlags) => {
      const spec: OutputSpec = { path: f.out, kind: 'folder', files: INPAINT_FILES, force: f.force === true, inputs: [{ flag: '--model', path: f.model }, { flag: '--data', path: f.data }] };
      const claim = claimOutputs(spec);
      const count = f.count;
      const show = f.show;
      const seed = f.seed;
      const loaded = loadModelFlag(f.model, f.backend);
      if (f.data === undefined) checkInputs(spec, recordedInputs(loaded));
      const data = await evalData(loaded, f.data, count);
      if (!data.image) throw new UsageError(`--data: expected images (rows that are square pictures), received rows of ${data.train.cols} values`);
      const clean = scaled(data.test!, loaded.config.scaling);
      const result = await compareInpainting(loaded.model, loaded.config.scaling, clean, {
        noise: f.noise,
        count,
        seed,
        image: data.image,
        backend: loaded.model.backend,
      });
      const o = inpaintingOutputs(result, data.image, show);
      const paths = writeOutputs(f.out, o, claim.present);
      claim.release();
      process.stdout.write(f.json ? JSON.stringify(o.summary) + '\n' : `${o.text}\nwrote ${paths.join(', ')}\n`);
    });
}
