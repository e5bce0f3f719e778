/**
 * What an autoencoder does to points near the data manifold (the lecture's Figs. 15–19): the
 * study and its statistics (manifold/study.ts), its pictures (manifold/figures.ts) and its
 * written report (manifold/report.ts), re-exported here so `apps/manifold.js` stays the one
 * import.
 */
export * from './manifold/study.js';
export * from './manifold/figures.js';
export * from './manifold/report.js';
export * from './manifold/run.js';
