import type { Command } from 'commander';
import { rowSlice } from '../core/matrix.js';
import { scaled } from '../data/dataset.js';
import { loadMnistDataset } from '../data/dataset.js';
import { rangeOf } from '../data/scaling.js';
import { writeFileAtomic } from '../io/atomic.js';
import { interpolate, nearestDistances, reconstructionErrors } from '../apps/interpolate.js';
import { encodePng, stack } from '../viz/image.js';
import { labelledRowsFigure } from '../viz/figures.js';
import { linePlot, PALETTE } from '../viz/plot.js';
import { checkFileOutput, loadModelFlag } from './common.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';

interface InterpolateFlags {
  force?: boolean;
  model: string;
  from: string;
  to: string;
  steps: string;
  out: string;
  json?: boolean;
  backend: string;
}

export function registerInterpolate(program: Command): void {
  program
    .command('interpolate')
    .description('blend two test digits in pixel space and in the code space, and measure how far each step is from the data (Figs. 2-4)')
    .requiredOption('--model <file>', 'a model.safetensors trained on MNIST')
    .requiredOption('--out <png>', 'the picture to write')
    .option('--from <i>', 'index of the first test digit', '0')
    .option('--to <j>', 'index of the second test digit', '1')
    .option('--steps <k>', 'pictures per row, end points included', '10')
    .option('--json', 'print the numbers as JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: InterpolateFlags) => {
      checkFileOutput('--out', f.out, '.png', f.force === true);
      const from = intFlag('--from', f.from, 0);
      const to = intFlag('--to', f.to, 0);
      const steps = intFlag('--steps', f.steps, 2);
      const loaded = loadModelFlag(f.model, f.backend);
      const { model, config } = loaded;
      const data = loadMnistDataset();
      if (model.inputSize !== data.train.cols) throw new UsageError(`--model: expected a model of ${data.train.cols} inputs (MNIST), received ${model.inputSize}`);
      const count = data.test!.rows;
      if (from >= count) throw new UsageError(`--from: expected a test digit index below ${count}, received ${from}`);
      if (to >= count) throw new UsageError(`--to: expected a test digit index below ${count}, received ${to}`);
      const test = scaled(data.test!, config.scaling);
      const train = scaled(data.train, config.scaling);
      const result = interpolate(model, rowSlice(test, from, from + 1).data, rowSlice(test, to, to + 1).data, steps);
      // Distances are reported in [0, 1] pixel units whatever the model's scaling.
      const [lo, hi] = rangeOf(config.scaling.kind);
      const span = hi - lo;
      const backend = model.backend;
      const rows = { pixel: result.pixel, latent: result.latent };
      const report = Object.fromEntries(
        Object.entries(rows).map(([name, m]) => {
          const near = nearestDistances(m, train, backend);
          const rec = reconstructionErrors(model, m);
          return [name, { nearestRms: Array.from(near.rms, (v) => v / span), nearestIndex: Array.from(near.index), reconstructionMse: Array.from(rec, (v) => v / (span * span)) }];
        }),
      ) as Record<'pixel' | 'latent', { nearestRms: number[]; nearestIndex: number[]; reconstructionMse: number[] }>;
      const pictures = labelledRowsFigure([result.pixel, result.latent], ['pixel space', 'code space'], { width: 28, height: 28, range: [lo, hi] });
      const plot = linePlot(
        [
          { label: 'pixel-space blend', xs: result.ts, ys: report.pixel.nearestRms, color: PALETTE[1]! },
          { label: 'code-space blend', xs: result.ts, ys: report.latent.nearestRms, color: PALETTE[0]! },
        ],
        { width: Math.max(360, pictures.width), height: 240, title: 'distance to the nearest training digit', xLabel: 'blend weight t', yLabel: 'RMS distance (pixels in [0,1])' },
      );
      writeFileAtomic(f.out, encodePng(stack([pictures, plot], 8, 255)));
      const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
      const summary = {
        from,
        to,
        steps,
        ts: result.ts,
        ...report,
        meanNearestRms: { pixel: mean(report.pixel.nearestRms), latent: mean(report.latent.nearestRms) },
        meanReconstructionMse: { pixel: mean(report.pixel.reconstructionMse), latent: mean(report.latent.reconstructionMse) },
      };
      if (f.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
      } else {
        const fmt = (a: number[]) => a.map((v) => v.toFixed(3)).join(' ');
        process.stdout.write(
          [
            `interpolating test digit ${from} → ${to} in ${steps} steps; distances in [0, 1] pixel units`,
            `t:                         ${result.ts.map((t) => t.toFixed(3)).join(' ')}`,
            `pixel blend, nearest RMS:  ${fmt(report.pixel.nearestRms)}  (mean ${summary.meanNearestRms.pixel.toFixed(4)})`,
            `code blend, nearest RMS:   ${fmt(report.latent.nearestRms)}  (mean ${summary.meanNearestRms.latent.toFixed(4)})`,
            `pixel blend, AE error:     ${fmt(report.pixel.reconstructionMse)}  (mean ${summary.meanReconstructionMse.pixel.toFixed(4)})`,
            `code blend, AE error:      ${fmt(report.latent.reconstructionMse)}  (mean ${summary.meanReconstructionMse.latent.toFixed(4)})`,
            `wrote ${f.out}`,
          ].join('\n') + '\n',
        );
      }
    });
}
