import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { ACTIVATIONS, LOSSES, type ActivationName, type LossName } from '../core/backend.js';
import { JsBackend } from '../backends/js/index.js';
import { scalingFor } from '../data/scaling.js';
import { importStateDict } from '../io/import.js';
import { saveModel } from '../io/model-file.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { claimOutputs } from '../io/output-check.js';
import { UsageError } from './exit.js';
import { choiceFlag } from './options.js';

interface ImportFlags {
  in: string;
  out: string;
  activation: string;
  outputActivation?: string;
  scale: string;
  range: string;
  loss: string;
  tied?: boolean;
  untied?: boolean;
  data?: string;
  force?: boolean;
}

const IMPORT_SCALINGS = ['symmetric', 'unit'] as const;

/** The save line a PyTorch user needs, for messages. */
export const SAVE_SAFETENSORS = "from safetensors.torch import save_file; save_file(model.state_dict(), 'model.safetensors')";

/**
 * Refuses a PyTorch pickle (torch.save's zip archive or a legacy pickle, or a .pt/.pth/.pkl
 * name) before anything reads it: unpickling runs code, so no pickle is ever read.
 */
function refusePickle(path: string): void {
  const head = Buffer.alloc(4);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return; // reading it below names the problem
  }
  const zip = n >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
  const pickle = n >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5;
  if (zip || pickle || /\.(pt|pth|pkl|ckpt|bin)$/i.test(path)) {
    throw new UsageError(`--in: expected a state_dict saved as safetensors, received a PyTorch pickle "${path}" (never read: unpickling runs code); in Python: ${SAVE_SAFETENSORS}`);
  }
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description("turn a PyTorch state_dict saved as safetensors (the notebook's module, or an nn.Sequential of Linear layers) into an aekit model file")
    .requiredOption('--in <file>', `the state_dict (in Python: ${SAVE_SAFETENSORS})`)
    .requiredOption('--out <file>', 'the aekit model file to write (.safetensors)')
    .option('--activation <name>', `after each linear map: ${ACTIVATIONS.join('|')}`, 'tanh')
    .option('--output-activation <name>', 'after the decoder\'s last linear map (default: tanh, or sigmoid with --scale unit)')
    .option('--scale <kind>', 'the input scaling the module was trained with: symmetric (to [-1, 1], the notebook\'s) or unit (to [0, 1])', 'symmetric')
    .option('--range <min,max>', 'the raw data range that scaling maps (MNIST pixels: 0,255)', '0,255')
    .option('--loss <name>', `the loss it was trained with: ${LOSSES.join('|')}`, 'mse')
    .option('--tied', "the decoder reuses the encoder's transposed weights (the default when the file has no decoder weights)")
    .option('--untied', 'the decoder has weights of its own (the default when the file has them)')
    .option('--data <source>', 'what it was trained on, recorded for eval and the other commands: mnist, or none (then give --data to each command); default: mnist for 784 inputs, else none')
    .option('--force', 'replace an existing --out')
    .action((f: ImportFlags) => {
      const activation = choiceFlag<ActivationName>('--activation', f.activation, ACTIVATIONS);
      const scale = choiceFlag('--scale', f.scale, IMPORT_SCALINGS);
      const outputActivation = f.outputActivation === undefined ? (scale === 'unit' ? 'sigmoid' : 'tanh') : choiceFlag<ActivationName>('--output-activation', f.outputActivation, ACTIVATIONS);
      const loss = choiceFlag<LossName>('--loss', f.loss, LOSSES);
      const range = f.range.split(',').map((v) => (v.trim() === '' ? NaN : Number(v)));
      if (range.length !== 2 || !range.every(Number.isFinite) || !(range[0]! < range[1]!)) throw new UsageError(`--range: expected two numbers min,max with min < max, received "${f.range}"`);
      const dataFlag = f.data === undefined ? undefined : choiceFlag('--data', f.data, ['mnist', 'none'] as const);
      if (f.tied && f.untied) throw new UsageError('--tied, --untied: expected at most one, received both');
      const claim = claimOutputs({ path: f.out, kind: 'file', ext: '.safetensors', force: f.force === true, inputs: [{ flag: '--in', path: f.in }] });
      refusePickle(f.in);
      let bytes: Buffer;
      try {
        bytes = readFileSync(f.in);
      } catch (err) {
        throw new UsageError(`--in: expected a readable file, received "${f.in}" (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      }
      const file = decodeSafetensors(bytes, f.in);
      const backend = new JsBackend();
      const loaded = importStateDict(
        file,
        backend,
        {
          activation,
          outputActivation,
          scaling: scalingFor(scale, range[0]!, range[1]!),
          loss,
          ...(f.tied ? { tied: true } : f.untied ? { tied: false } : {}),
          from: { path: basename(f.in), sha256: createHash('sha256').update(bytes).digest('hex') },
        },
        f.in,
      );
      // MNIST by default only where it fits: another input size records no data at all, so
      // nothing is ever scored against a data set it was not trained on.
      const data = dataFlag ?? (loaded.model.inputSize === 784 ? 'mnist' : 'none');
      if (data === 'mnist' && loaded.model.inputSize !== 784) {
        throw new UsageError(`--data: expected a source of the model's ${loaded.model.inputSize} inputs, received mnist (784 pixels); pass --data none and give --data to each command`);
      }
      const dataRecord = data === 'mnist' ? { source: 'mnist', kind: 'mnist', image: { width: 28, height: 28 } } : undefined;
      const training = { ...loaded.config.training, ...(dataRecord ? { data: dataRecord } : {}) };
      const { architecture, scaling } = loaded.config;
      saveModel(f.out, loaded.model, { scaling, loss, training });
      claim.release();
      const sizes = architecture.layers;
      process.stdout.write(
        `wrote ${f.out}: ${[...sizes, ...sizes.slice(0, -1).reverse()].join('→')}${architecture.tied ? ' (tied)' : ''}, ${architecture.activation} then ${architecture.outputActivation}, ${scaling.kind} scaling of ${scaling.min}..${scaling.max}, ${loss}${dataRecord ? ', trained on mnist' : ''}\n`,
    );
    });
}
