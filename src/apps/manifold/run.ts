/**
 * A whole `ae manifold` run as one call: the study, its figures, manifold.json and manifold.md,
 * returned as named file contents so a caller (the CLI) only has to write them.
 */
import { encodePng, type Raster } from '../../viz/image.js';
import { arrowsSpec, codeFigure, jacobianFigure, travelFigure } from './figures.js';
import { chartFiles, renderChart } from '../../viz/vega.js';
import { manifoldMarkdown, manifoldText, scheduleText } from './report.js';
import { manifoldStudy, resolveManifoldOptions, studySchedule, type ManifoldStudy, type ManifoldStudyOptions, type ManifoldSummary } from './study.js';

/** One output of a run: its file name, what it shows (listed in manifold.md), and its bytes or text. */
export interface ManifoldFile {
  name: string;
  what: string;
  contents: Uint8Array | string;
}

export interface ManifoldRun {
  study: ManifoldStudy;
  summary: ManifoldSummary;
  /** manifoldText: the numbers that matter, one line each, for the terminal. */
  text: string;
  /**
   * Everything a run writes, in writing order: arrows.png (with arrows.svg and its Vega-Lite spec arrows.vl.json), travel.png, jacobian.png (a one-layer
   * encoder on two-branch), code.png (curve3d), manifold.json (the summary, the backend's name
   * and each epoch's lr and losses) and manifold.md (manifoldMarkdown, listing the others).
   */
  files: ManifoldFile[];
}

export interface RunManifoldOptions extends Omit<ManifoldStudyOptions, 'onStart' | 'onEpochEnd'> {
  /**
   * Progress, one line at a time without a newline: what is trained and its schedule when
   * training starts, then every tenth of the epochs (and the last) its training and test loss.
   */
  log?: (line: string) => void;
}

/**
 * Runs manifoldStudy and draws and writes out (in memory) everything `ae manifold` saves.
 * Throws as manifoldStudy does (ValidationError before training for bad options, DivergenceError).
 */
export async function runManifoldStudy(opts: RunManifoldOptions): Promise<ManifoldRun> {
  const { log, ...rest } = opts;
  const r = resolveManifoldOptions(rest);
  const every = Math.max(1, Math.round(r.epochs / 10));
  const model = [...r.layers, ...r.layers.slice(0, -1).reverse()].join('→');
  const schedule = scheduleText({ lr: r.lr, lrSchedule: studySchedule(r.epochs) ?? null, epochs: r.epochs });
  const study = manifoldStudy({
    ...rest,
    ...(log
      ? {
          onStart: () =>
            log(`ae: training ${model} (${r.variant}${r.tied ? ', tied' : ''}) on ${r.count} points of ${r.dataset}, ${r.epochs} epochs, ${schedule}, backend ${r.backend.name}`),
          onEpochEnd: (m) => {
            if (m.epoch % every === 0 || m.epoch === r.epochs) log(`epoch ${m.epoch}/${r.epochs}  train ${m.trainLoss.toFixed(5)}  test ${m.testLoss?.toFixed(5)}`);
          },
        }
      : {}),
  });
  const s = study.summary;
  const png = (name: string, what: string, draw: (st: ManifoldStudy) => Raster): ManifoldFile => ({ name, what, contents: encodePng(draw(study)) });
  const arrows = chartFiles('arrows', await renderChart(arrowsSpec(study)));
  const arrowsWhat = ['each grid point → its reconstruction (every few grid points), over the training data (Figs. 15–16)', 'the same as SVG', 'its Vega-Lite spec'];
  const files: ManifoldFile[] = [
    ...arrows.map(([name, contents], i) => ({ name, what: arrowsWhat[i]!, contents })),
    png('travel.png', 'each grid point coloured by the distance it travels, ‖x̂ − x‖; lighter is farther (Fig. 17)', travelFigure),
  ];
  if (study.model.encoder.length === 1 && s.dataset === 'two-branch') {
    files.push(png('jacobian.png', "each grid point coloured by the encoder's sensitivity ‖∂h/∂x‖_F, which the contractive penalty shrinks at the data", jacobianFigure));
  }
  if (study.code) files.push(png('code.png', 'the learned 1-D code against the helix parameter t, and the helix coloured by it (Figs. 18–19)', codeFigure));
  const history = study.history.map((m) => ({ epoch: m.epoch, lr: m.lr, trainLoss: m.trainLoss, testLoss: m.testLoss }));
  files.push({ name: 'manifold.json', what: 'every number here, and the training curve', contents: JSON.stringify({ ...s, backend: r.backend.name, history }, null, 2) + '\n' });
  const markdown = manifoldMarkdown(s, files.map((f) => `${f.name}: ${f.what}`));
  files.push({ name: 'manifold.md', what: 'this report', contents: markdown });
  return { study, summary: s, text: manifoldText(s), files };
}
