/**
 * The manifold study's written report: manifold.md (manifoldMarkdown) and the terminal lines
 * (manifoldText), every number read from a ManifoldSummary (study.ts).
 */
import { parseLrSchedule } from '../../train/schedule.js';
import type { ManifoldSummary } from './study.js';

const fmt = (v: number, digits = 4): string => (Number.isFinite(v) ? (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(digits) : v.toExponential(2)) : String(v));

/** The lecture's observation, as a threshold on the numbers: on-manifold points travel less than a tenth of what far points do. */
export const TRAVEL_RATIO_CLAIM = 0.1;

/** A learning rate as the report writes it: 3 significant digits (3e-3 · 0.1 reads 0.0003). */
const lrText = (lr: number): string => String(+lr.toPrecision(3));

/**
 * The run's learning rates, read from the summary's schedule (parseLrSchedule):
 * "lr 0.003 for epochs 1–800, then 0.0003 for epochs 801–1000 (step:800:0.1, PyTorch's StepLR)",
 * or "lr 0.003 throughout" without one. A plateau schedule depends on the losses and is named only.
 */
export function scheduleText(s: Pick<ManifoldSummary, 'lr' | 'lrSchedule' | 'epochs'>): string {
  if (s.lrSchedule === null) return `lr ${lrText(s.lr)} throughout`;
  const kind = s.lrSchedule.split(':')[0]!;
  const torch: Record<string, string> = { step: 'StepLR', exponential: 'ExponentialLR', cosine: 'CosineAnnealingLR', plateau: 'ReduceLROnPlateau' };
  const name = `${s.lrSchedule}, PyTorch's ${torch[kind] ?? kind}`;
  if (kind === 'plateau') return `lr ${lrText(s.lr)} at first (${name})`;
  const schedule = parseLrSchedule(s.lrSchedule, s.lr, s.epochs);
  const runs: Array<{ lr: number; from: number; to: number }> = [];
  for (let e = 1; e <= s.epochs; e++) {
    const lr = schedule.lrFor(e);
    const last = runs[runs.length - 1];
    if (last && lrText(last.lr) === lrText(lr)) last.to = e;
    else runs.push({ lr, from: e, to: e });
  }
  if (runs.length > 4) return `lr ${lrText(runs[0]!.lr)} at epoch 1 to ${lrText(runs[runs.length - 1]!.lr)} at epoch ${s.epochs} (${name})`;
  const part = (r: (typeof runs)[number]) => `${lrText(r.lr)} for epoch${r.to > r.from ? `s ${r.from}–${r.to}` : ` ${r.from}`}`;
  return `lr ${runs.map(part).join(', then ')} (${name})`;
}

/** manifold.md: what was trained, the two groups' travel, and whether the lecture's observation holds. */
export function manifoldMarkdown(s: ManifoldSummary, files: string[]): string {
  const holds = s.travelRatio < TRAVEL_RATIO_CLAIM;
  const lines = [
    `# What a ${variantLabel(s)} does near the data manifold: ${s.dataset}`,
    '',
    `Model ${[...s.layers, ...s.layers.slice(0, -1).reverse()].join('→')}${s.tied ? ' (tied weights)' : ''}, ${s.activation} hidden layers, linear output, MSE, Adam (${scheduleText(s)}; batch ${s.batchSize}); ` +
      `${s.epochs} epochs on ${s.trainCount} points drawn around the noiseless ${s.dataset === 'two-branch' ? 'arcs' : 'helix'} with noise σ = ${s.dataNoise}; seed ${s.seed}. ` +
      `Final training objective ${fmt(s.trainLoss, 5)}, test MSE ${fmt(s.testMse, 5)}.`,
    '',
    `Every point x of a ${s.grid.side}^${s.dataset === 'two-branch' ? 2 : 3} grid over [${s.grid.range.join(', ')}]^${s.dataset === 'two-branch' ? 2 : 3} ` +
      `(${s.grid.points} points) is reconstructed; it travels ‖x̂ − x‖. "On the manifold" means within ε = ${s.epsilon} of the noiseless curves, ` +
      `"far" means more than δ = ${s.delta} from them. "Landing distance" is how far the reconstruction x̂ is from the manifold.`,
    '',
    '| group | grid points | mean distance to the manifold | mean travel ‖x̂ − x‖ | mean landing distance |',
    '|---|---:|---:|---:|---:|',
    `| on the manifold (d < ${s.epsilon}) | ${s.onManifold.count} | ${fmt(s.onManifold.meanDistance)} | ${fmt(s.onManifold.meanTravel)} | ${fmt(s.onManifold.meanLandingDistance)} |`,
    `| far (d > ${s.delta}) | ${s.far.count} | ${fmt(s.far.meanDistance)} | ${fmt(s.far.meanTravel)} | ${fmt(s.far.meanLandingDistance)} |`,
    '',
    `- Ratio of mean travel, on the manifold / far: **${fmt(s.travelRatio, 3)}** (the lecture's observation, that points on the manifold barely move, is taken to hold below ${TRAVEL_RATIO_CLAIM}): ` +
      (holds ? '**it holds here**.' : '**it does not hold here**.'),
    `- Far points: travel / distance to the manifold is ${fmt(s.far.meanTravelOverDistance, 3)} on average (median ${fmt(s.far.medianTravelOverDistance, 3)}; 1 = they travel exactly their distance to it); ` +
      `the correlation of travel with distance over them is ${fmt(s.far.correlation, 3)}.`,
    (s.far.meanGapClosed >= 0
      ? `- Far points close ${fmt(100 * s.far.meanGapClosed, 1)}% of their distance to the manifold on average (their reconstructions land ${fmt(s.far.meanLandingDistance)} from it, `
      : `- Far points end ${fmt(-100 * s.far.meanGapClosed, 1)}% farther from the manifold than they started, on average (their reconstructions land ${fmt(s.far.meanLandingDistance)} from it, `) +
      `against ${fmt(s.far.meanDistance)} before): ${s.far.meanGapClosed > 0.8 ? 'they are sent to the manifold' : 'they are not sent to the manifold'}. ` +
      'A small travel ratio alone does not show this: a model that moves far points only part of the way has one too.',
  ];
  lines.push(
    `- Local gain of the reconstruction at the manifold (central differences of step ${s.gains.step} at ${s.gains.points} points): ` +
      `${fmt(s.gains.tangent, 3)} along the curve, ${fmt(s.gains.normal, 3)} across it (a projection onto the manifold: 1 and 0; the identity: 1 and 1).`,
  );
  if (s.jacobian) {
    lines.push(`- Encoder Jacobian ‖∂h/∂x‖_F, mean: ${fmt(s.jacobian.onManifold, 3)} on the manifold, ${fmt(s.jacobian.far, 3)} far from it.`);
  }
  if (s.code) {
    lines.push(
      `- Learned code (${s.code.kind === 'bottleneck' ? 'the 1-unit bottleneck' : `first principal direction of the ${s.layers[s.layers.length - 1]}-unit codes, ${fmt((s.code.explainedVariance ?? 0) * 100, 1)}% of their variance`}): ` +
        `Spearman rank correlation with the helix parameter t = ${fmt(s.code.spearmanWithT, 4)} (±1: the code is a monotone function of the position along the curve).`,
    );
  }
  lines.push('', 'Files:', '', ...files.map((f) => `- ${f}`), '', `Run time ${s.seconds.toFixed(1)} s.`, '');
  return lines.join('\n');
}

/** One line per number that matters, for the terminal. */
export function manifoldText(s: ManifoldSummary): string {
  return [
    `${s.dataset}, ${variantLabel(s)}: ${[...s.layers, ...s.layers.slice(0, -1).reverse()].join('→')}${s.tied ? ' (tied)' : ''}, ${s.epochs} epochs, ${scheduleText(s)}, test MSE ${fmt(s.testMse, 5)}`,
    `on the manifold (d < ${s.epsilon}): ${s.onManifold.count} grid points, mean travel ${fmt(s.onManifold.meanTravel)}`,
    `far (d > ${s.delta}): ${s.far.count} grid points, mean travel ${fmt(s.far.meanTravel)}, mean distance ${fmt(s.far.meanDistance)}, travel/distance ${fmt(s.far.meanTravelOverDistance, 3)}, landing ${fmt(s.far.meanLandingDistance)} (${fmt(100 * s.far.meanGapClosed, 1)}% of the gap closed)`,
    `travel ratio on/far ${fmt(s.travelRatio, 3)} (${s.travelRatio < TRAVEL_RATIO_CLAIM ? 'below' : 'not below'} ${TRAVEL_RATIO_CLAIM})` +
      `; gain along ${fmt(s.gains.tangent, 3)}, across ${fmt(s.gains.normal, 3)}` +
      (s.jacobian ? `; ‖∂h/∂x‖_F on ${fmt(s.jacobian.onManifold, 3)}, far ${fmt(s.jacobian.far, 3)}` : '') +
      (s.code ? `; code (${s.code.kind}) Spearman with t ${fmt(s.code.spearmanWithT, 4)}` : ''),
  ].join('\n');
}

/** How the figures and the report name the model: "denoising AE (gaussian:0.15)", "contractive AE (λ = 0.01)", "standard AE". */
export function variantLabel(s: ManifoldSummary): string {
  if (s.variant === 'denoising') return `denoising AE (${s.noise})`;
  if (s.variant === 'contractive') return `contractive AE (λ = ${s.contractive})`;
  return 'standard AE';
}

