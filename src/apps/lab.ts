import type { Backend } from '../core/backend.js';
import { matrix, topRows, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { scaled, type Dataset } from '../data/dataset.js';
import { ValidationError, expected } from '../core/errors.js';
import type { StudyOutputs } from './output.js';
import { lowRankData } from '../data/synthetic.js';
import { columnsOf, fitPca, pcaBasis, pcaReconstruct, principalAngles } from '../baselines/pca.js';
import { corruptAll, makeCorruption } from '../train/corruption.js';
import { evaluate } from '../train/evaluate.js';
import { prepareTraining, resolveSettings, setupTraining, type TrainSettings } from '../train/recipe.js';

/**
 * Small studies that show the lecture's claims with numbers. Each takes raw MNIST-like data
 * (a Dataset) and trains its own models, so they can run at any size: the tests run them on
 * subsets, `ae lab` on the full set.
 */
export interface StudyOptions {
  epochs: number;
  backend: Backend;
  seed?: number;
  onProgress?: (line: string) => void;
}

function copyData(d: Dataset): Dataset {
  return { ...d, train: { ...d.train, data: d.train.data.slice() }, test: d.test ? { ...d.test, data: d.test.data.slice() } : null };
}

function trainOn(d: Dataset, settings: Partial<TrainSettings>, opts: StudyOptions) {
  const run = prepareTraining({ seed: opts.seed ?? 0, epochs: opts.epochs, ...settings }, copyData(d), opts.backend, { inPlace: true });
  run.fit();
  return run;
}

export interface OvercompleteRow {
  model: string;
  hidden: number;
  noise: string;
  /** MSE of the reconstruction of clean test digits. */
  cleanMse: number;
  /** MSE against the clean digit of the reconstruction of its dropout-corrupted copy. */
  corruptedMse: number;
  /** The MSE of the corrupted digit itself against the clean one: what doing nothing scores. */
  identityCorruptedMse: number;
}

/**
 * Under- versus over-complete: an over-complete code (d = 500 > the ~150 pixels a digit
 * uses) trained without noise can copy its input, so it reconstructs clean digits well and
 * corrupted ones poorly; the same size trained to denoise restores them.
 */
export function overcompleteStudy(d: Dataset, opts: StudyOptions, noise = 'dropout:0.5'): OvercompleteRow[] {
  const configs: Array<[string, Partial<TrainSettings>]> = [
    ['under-complete, standard', { hidden: 30 }],
    ['over-complete, standard', { hidden: 500 }],
    ['over-complete, denoising', { hidden: 500, variant: 'denoising', noise }],
  ];
  return configs.map(([name, settings]) => {
    opts.onProgress?.(`overcomplete: training ${name} (d=${settings.hidden})`);
    const run = trainOn(d, settings, opts);
    const test = run.test!;
    const corruption = makeCorruption(noise, { range: [-1, 1], image: d.image });
    const bad = corruptAll(test, corruption, new Rng(12345), opts.backend);
    return {
      model: name,
      hidden: settings.hidden!,
      noise: settings.noise ?? 'none',
      cleanMse: evaluate(run.model, test).loss,
      corruptedMse: evaluate(run.model, bad, 'mse', test).loss,
      identityCorruptedMse: mseOf(bad, test),
    };
  });
}

function mseOf(a: Matrix, b: Matrix): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += (a.data[i]! - b.data[i]!) ** 2;
  return s / a.data.length;
}

export interface ContractiveRow {
  lambda: number;
  cleanMse: number;
  /** Mean over test digits of ‖∂h/∂x‖_F. */
  jacobianNorm: number;
}

/** The contractive penalty contracts: the mean ‖∂h/∂x‖_F on test data falls as λ grows. */
export function contractiveStudy(d: Dataset, opts: StudyOptions, lambdas = [0, 1e-4, 1e-3, 1e-2, 1e-1], hidden = 30): ContractiveRow[] {
  return lambdas.map((lambda) => {
    opts.onProgress?.(`contractive: training λ=${lambda}`);
    const run = trainOn(d, { hidden, variant: 'contractive', contractive: lambda }, opts);
    const norms = run.model.jacobianNorms(run.test!);
    let s = 0;
    for (const v of norms) s += v;
    return { lambda, cleanMse: evaluate(run.model, run.test!).loss, jacobianNorm: s / norms.length };
  });
}

export interface PcaStudy {
  data: string;
  d: number;
  /** Principal angles in degrees between the tied linear AE's decoder subspace and the top-d PCA subspace. */
  angles: number[];
  /**
   * The largest angle to the top-(d+2) PCA subspace: when the d-th and later eigenvalues are
   * nearly equal, a finite run settles anywhere in their span, and this shows whether it did.
   */
  largestToWider: number;
  aeMse: number;
  pcaMse: number;
}

/**
 * A linear autoencoder with tied weights trained with MSE spans the same subspace as the
 * top-d principal components. The decoder's columns (the encoder's rows) are compared with
 * PCA's directions by their principal angles.
 */
export function pcaStudyOn(name: string, train: Matrix, test: Matrix, d: number, opts: StudyOptions & { lr?: number; batchSize?: number }): PcaStudy {
  const run = setupTraining(
    { layers: [train.cols, d], activation: 'linear', outputActivation: 'linear', tied: true, epochs: opts.epochs, batchSize: opts.batchSize ?? 256, lr: opts.lr ?? 1e-3, seed: opts.seed ?? 0 },
    { x: train },
    opts.backend,
  );
  opts.onProgress?.(`pca: training a tied linear ${train.cols}-${d}-${train.cols} autoencoder on ${name}`);
  run.fit();
  const model = run.model;
  const wider = fitPca(train, Math.min(d + 2, train.cols));
  const pca = { ...wider, components: topRows(wider.components, d), explainedVariance: wider.explainedVariance.slice(0, d), explainedVarianceRatio: wider.explainedVarianceRatio.slice(0, d) };
  const ae = columnsOf(model.encoder[0]!.weight.valueMatrix, 'rows');
  const angles = Array.from(principalAngles(ae, pcaBasis(pca)));
  const largestToWider = Math.max(...principalAngles(ae, pcaBasis(wider)));
  const pr = pcaReconstruct(pca, test);
  return { data: name, d, angles, largestToWider, aeMse: evaluate(model, test).loss, pcaMse: mseOf(pr, test) };
}

/** The synthetic check: 20-dimensional points near a known 3-dimensional subspace. */
export function syntheticPcaStudy(opts: StudyOptions): PcaStudy {
  const rng = new Rng(opts.seed ?? 0);
  const { x } = lowRankData(rng, { rows: 6000, dim: 20, rank: 3, noise: 0.05, scale: 1 });
  const train = matrix(5000, 20, x.data.slice(0, 5000 * 20));
  const test = matrix(1000, 20, x.data.slice(5000 * 20));
  return pcaStudyOn('synthetic (20-D, rank 3, noise 0.05)', train, test, 3, { ...opts, lr: 1e-2, batchSize: 64 });
}

export function overcompleteTable(rows: OvercompleteRow[]): string {
  return [
    '| model | d | trained with | clean test MSE | corrupted test MSE |',
    '|---|---:|---|---:|---:|',
    ...rows.map((r) => `| ${r.model} | ${r.hidden} | ${r.noise} | ${r.cleanMse.toFixed(4)} | ${r.corruptedMse.toFixed(4)} |`),
    '',
    `Corrupted input: dropout:0.5 on the test digits; leaving it as it is scores ${rows[0]?.identityCorruptedMse.toFixed(4)}.`,
  ].join('\n');
}

export function contractiveTable(rows: ContractiveRow[]): string {
  return ['| λ | clean test MSE | mean ‖∂h/∂x‖_F |', '|---:|---:|---:|', ...rows.map((r) => `| ${r.lambda} | ${r.cleanMse.toFixed(4)} | ${r.jacobianNorm.toFixed(4)} |`)].join('\n');
}

export function pcaTable(studies: PcaStudy[]): string {
  const fmt = (a: number[]) => (a.length <= 6 ? a.map((v) => v.toFixed(2)).join(', ') : `${a.slice(0, 3).map((v) => v.toFixed(2)).join(', ')}, …, ${a.slice(-2).map((v) => v.toFixed(2)).join(', ')}`);
  return [
    '| data | d | principal angles to the top-d PCA subspace (degrees, ascending) | largest | largest to the top-(d+2) | tied linear AE test MSE | PCA test MSE |',
    '|---|---:|---|---:|---:|---:|---:|',
    ...studies.map(
      (s) =>
        `| ${s.data} | ${s.d} | ${fmt(s.angles)} | ${Math.max(...s.angles).toFixed(2)} | ${s.largestToWider.toFixed(2)} | ${s.aeMse.toFixed(5)} | ${s.pcaMse.toFixed(5)} |`,
    ),
  ].join('\n');
}

export const LAB_STUDIES = ['overcomplete', 'contractive', 'pca'] as const;
export type LabStudy = (typeof LAB_STUDIES)[number];
/** The files labOutputs writes. */
export const LAB_FILES = ['lab.md', 'lab.json'] as const;

/** Checks study names against LAB_STUDIES; throws ValidationError naming the first unknown one. */
export function checkLabStudies(names: readonly string[]): LabStudy[] {
  for (const s of names) if (!(LAB_STUDIES as readonly string[]).includes(s)) throw new ValidationError(expected('--only', `names from ${LAB_STUDIES.join(', ')}`, s));
  return names as LabStudy[];
}

/**
 * The chosen studies on raw MNIST-like data, as lab.md (a section per study, its settings
 * read from the recipe the studies train with) and lab.json. Throws ValidationError for an
 * unknown study name.
 */
export function labOutputs(data: Dataset, opts: StudyOptions & { only?: readonly string[] }): StudyOutputs<Record<string, unknown>> {
  const only = checkLabStudies(opts.only ?? LAB_STUDIES);
  const r = resolveSettings({ epochs: opts.epochs });
  const optimizer = r.optimizer === 'adam' ? 'Adam' : 'SGD';
  const sections: string[] = [
    `# The lecture's claims, measured\n\n${data.kind === 'mnist' ? 'MNIST' : data.source}, ${data.train.rows} training and ${data.test?.rows ?? 0} test rows, ${r.epochs} epochs per model, ${optimizer} lr ${r.lr}, batch ${r.batchSize}, ${r.loss.toUpperCase()}, backend ${opts.backend.name}.`,
  ];
  const json: Record<string, unknown> = { epochs: r.epochs, trainCount: data.train.rows, backend: opts.backend.name };
  if (only.includes('overcomplete')) {
    const rows = overcompleteStudy(data, opts);
    json.overcomplete = rows;
    sections.push(`## Under- versus over-complete\n\n${overcompleteTable(rows)}`);
  }
  if (only.includes('contractive')) {
    const hidden = 30;
    const rows = contractiveStudy(data, opts, undefined, hidden);
    json.contractive = rows;
    sections.push(`## The contractive penalty contracts\n\nOne-layer encoder ${data.train.cols}→${hidden} (${r.activation}); the penalty is λ·‖∂h/∂x‖²_F per row, added to the ${r.loss.toUpperCase()}.\n\n${contractiveTable(rows)}`);
  }
  if (only.includes('pca')) {
    const s = { kind: 'symmetric' as const, ...data.rawRange };
    const studies = [syntheticPcaStudy(opts), pcaStudyOn(data.kind === 'mnist' ? 'MNIST' : data.source, scaled(data.train, s), scaled(data.test!, s), 30, opts)];
    json.pca = studies;
    sections.push(`## A tied linear autoencoder spans the PCA subspace\n\n${pcaTable(studies)}`);
  }
  const markdown = sections.join('\n\n') + '\n';
  return { summary: json, markdown, text: markdown, figures: [], files: [{ name: 'lab.md', data: markdown }, { name: 'lab.json', data: JSON.stringify(json, null, 2) + '\n' }] };
}
