/**
 * Anomaly detection by reconstruction error: the detector (anomaly/detector.ts), the hold-out,
 * table and scoring studies (study.ts), their figures (figures.ts) and reports, with the one
 * call per command (report.ts). This file only re-exports them.
 */
export * from './anomaly/detector.js';
export * from './anomaly/study.js';
export * from './anomaly/figures.js';
export * from './anomaly/report.js';
