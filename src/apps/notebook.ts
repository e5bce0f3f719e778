/**
 * The companion notebook end to end (`npm start`): the standard and the denoising
 * autoencoder trained with the notebook's settings, their reconstructions (Figs. 20–21) and
 * encoder kernels (Figs. 22–23), the inpainting comparison with OpenCV (Figs. 24–27), and an
 * index of what was written. The report reads every setting from the runs' own configs.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../core/backend.js';
import { writeFileAtomic } from '../io/atomic.js';
import { claimOutputs } from '../io/output-check.js';
import { writeOutputs } from '../io/outputs.js';
import { NOTEBOOK_SETTINGS, type TrainSettings } from '../train/recipe.js';
import { executeRun, planFreshRun, type RunPlan, type RunResult } from '../train/run-folder.js';
import type { Callbacks } from '../train/trainer.js';
import { kernelsFigure } from '../viz/figures.js';
import { encodePng } from '../viz/image.js';
import { compareInpainting, INPAINT_FILES, inpaintingOutputs, inpaintingTable } from './inpaint.js';

/** The notebook's two models: 784→30→784 standard, and 784→500→784 denoising with dropout p = 0.5. */
export const NOTEBOOK_MODELS: ReadonlyArray<{ dir: string; settings: Partial<TrainSettings> }> = [
  { dir: 'standard', settings: { hidden: 30 } },
  { dir: 'denoising', settings: { hidden: 500, variant: 'denoising', noise: 'dropout:0.5' } },
];

export interface NotebookOptions {
  out: string;
  /** Epochs per model; default the notebook's 20. */
  epochs?: number;
  /** Test digits in the inpainting comparison. */
  count: number;
  limit?: number;
  /** Replace models already in `out`. */
  force?: boolean;
  backend: Backend;
  /** Progress for each model's training, made for its epoch count. */
  callbacks?: (epochs: number) => Callbacks;
  log?: (line: string) => void;
  /** Aborting it stops training at the next batch (InterruptedError); the CLI aborts it on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export interface NotebookResult {
  standard: RunResult;
  denoising: RunResult;
  /** index.md: what each file shows, the settings, and the scores. */
  markdown: string;
  paths: string[];
}

const arrow = (layers: readonly number[]) => [...layers, ...layers.slice(0, -1).reverse()].join('→');

/** Trains both models into out/standard and out/denoising, then inpaints into out/inpainting and writes out/index.md. */
export async function runNotebook(o: NotebookOptions): Promise<NotebookResult> {
  // `out` checked (a folder that can be written, none of the notebook's own files in it without
  // --force) and locked, one notebook at a time; its runs check and lock their own folders as well.
  const claim = claimOutputs({ path: o.out, kind: 'folder', files: NOTEBOOK_FILES, force: o.force === true });
  try {
    return await notebookLocked(o);
  } finally {
    claim.release();
  }
}

/** The files the notebook writes itself into `out` (each run folder's own are the run's). */
export const NOTEBOOK_FILES: readonly string[] = ['index.md', ...NOTEBOOK_MODELS.map((m) => `${m.dir}/kernels.png`), ...INPAINT_FILES.map((f) => `inpainting/${f}`)];

async function notebookLocked(o: NotebookOptions): Promise<NotebookResult> {
  const log = o.log ?? (() => {});
  const runs: RunResult[] = [];
  // Both plans first: a refusal (an existing model, bad data) comes before any training.
  const plans: RunPlan[] = [];
  try {
    for (const m of NOTEBOOK_MODELS) {
      const settings = { ...NOTEBOOK_SETTINGS, ...m.settings, ...(o.epochs === undefined ? {} : { epochs: o.epochs }) };
      plans.push(await planFreshRun(settings, { source: 'mnist', out: join(o.out, m.dir), backend: o.backend, force: o.force === true, ...(o.limit === undefined ? {} : { limit: o.limit }) }));
    }
    // Both plans made (--force checked): the earlier notebook's own files go before the first
    // model trains, so a run cut short never leaves them beside the new models.
    for (const f of NOTEBOOK_FILES) rmSync(join(o.out, f), { force: true });
    for (const plan of plans) {
      const r = await executeRun(plan, { ...(o.callbacks ? { callbacks: o.callbacks(plan.settings.epochs!) } : {}), log, ...(o.signal ? { signal: o.signal } : {}) });
      for (const line of r.text.split('\n')) log(line);
      runs.push(r);
    }
  } finally {
    // A refused or interrupted plan releases the folders the others locked.
    for (const plan of plans) plan.lock.release();
  }
  const [standard, denoising] = runs as [RunResult, RunResult];
  const paths = [...standard.paths, ...denoising.paths];
  const image = standard.image!;
  for (const [m, r] of NOTEBOOK_MODELS.map((m, i) => [m, runs[i]!] as const)) {
    const path = join(o.out, m.dir, 'kernels.png');
    writeFileAtomic(path, encodePng(kernelsFigure(r.run.model.encoder[0]!.weight.valueMatrix, image)));
    paths.push(path);
  }
  const d = denoising.run;
  const noise = d.corruption!.spec;
  log(`inpainting ${o.count} test digits with the denoising model and with OpenCV`);
  const c = await compareInpainting(d.model, d.config.scaling, d.test!, { noise, count: o.count, seed: 0, image, backend: d.model.backend });
  const inpainting = inpaintingOutputs(c, image, 12);
  paths.push(...writeOutputs(join(o.out, 'inpainting'), inpainting));
  const s = standard.run.settings;
  const last = (r: RunResult) => r.history[r.history.length - 1]!;
  const sl = last(standard);
  const dl = last(denoising);
  const range = s.scale === 'symmetric' ? '[-1, 1]' : s.scale === 'unit' ? '[0, 1]' : 'standardised';
  const optimizer = s.optimizer === 'adam' ? 'Adam' : `SGD (momentum ${s.momentum})`;
  const markdown = `# The notebook, reproduced

${s.epochs} epoch${s.epochs === 1 ? '' : 's'} each on ${standard.run.train.rows} MNIST digits, ${optimizer} lr ${s.lr}, batch ${s.batchSize}, ${s.loss.toUpperCase()}, ${s.activation} after every linear map, inputs in ${range}; backend ${standard.run.model.backend.name}.

| file | what it shows |
|---|---|
| standard/model.safetensors | the standard ${arrow(standard.run.model.config.layers)} autoencoder (loads into the notebook's PyTorch module) |
| standard/reconstructions.png | test digits (top) and their reconstructions (bottom), Fig. 20 |
| standard/kernels.png | the ${standard.run.model.config.layers.at(-1)} encoder kernels as ${image.width}×${image.height} images, Fig. 22 |
| standard/metrics.json | per-epoch losses and timings |
| denoising/model.safetensors | the denoising ${arrow(d.model.config.layers)} autoencoder, trained on ${noise} corruption |
| denoising/reconstructions.png | clean digits, their corrupted copies, and the reconstructions of the corrupted ones, Fig. 21 |
| denoising/kernels.png | the ${d.model.config.layers.at(-1)} encoder kernels, Fig. 23 |
| denoising/metrics.json | per-epoch losses, including the loss on corrupted test digits |
| inpainting/inpainting.png | ${inpainting.figures[0]!.caption.replace(/^Rows of inpainting.png, top to bottom: /, 'rows: ').replace(/\.$/, '')} (Figs. 24–27) |
| inpainting/inpainting.md | the table below |

Standard model: test MSE ${sl.testLoss?.toFixed(5)}.
Denoising model: test MSE ${dl.testLoss?.toFixed(5)} on clean digits, ${dl.testLossCorrupted?.toFixed(5)} on ${noise}-corrupted ones.

${inpaintingTable(c)}
`;
  const indexPath = join(o.out, 'index.md');
  writeFileAtomic(indexPath, markdown);
  paths.push(indexPath);
  return { standard, denoising, markdown, paths };
}
