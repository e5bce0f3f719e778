import { join } from 'node:path';
import type { Command } from 'commander';
import { loadMnistDataset, scaled } from '../data/dataset.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { contractiveStudy, contractiveTable, overcompleteStudy, overcompleteTable, pcaStudyOn, pcaTable, syntheticPcaStudy } from '../apps/lab.js';
import { backendFrom } from './common.js';
import { UsageError } from './exit.js';
import { intFlag } from './options.js';

const STUDIES = ['overcomplete', 'contractive', 'pca'] as const;

interface LabFlags {
  out: string;
  epochs: string;
  only?: string;
  limit?: string;
  json?: boolean;
  backend: string;
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description("the lecture's claims in numbers: under- vs over-complete codes, the contractive penalty, tied linear AE vs PCA")
    .requiredOption('--out <dir>', 'folder for lab.md and lab.json')
    .option('--epochs <n>', 'epochs for every model trained', '20')
    .option('--only <names>', `a comma-separated subset of ${STUDIES.join(',')}`)
    .option('--limit <n>', 'use only the first N training rows (and at most N test rows)')
    .option('--json', 'print JSON')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .action((f: LabFlags) => {
      const epochs = intFlag('--epochs', f.epochs);
      const only = f.only === undefined ? [...STUDIES] : f.only.split(',');
      for (const s of only) {
        if (!(STUDIES as readonly string[]).includes(s)) throw new UsageError(`--only: expected names from ${STUDIES.join(', ')}, received "${s}"`);
      }
      const limit = f.limit === undefined ? undefined : intFlag('--limit', f.limit);
      const backend = backendFrom(f.backend);
      const data = loadMnistDataset(limit === undefined ? {} : { limit });
      const opts = { epochs, backend, onProgress: (line: string) => process.stderr.write(`ae lab: ${line}\n`) };
      const sections: string[] = [`# The lecture's claims, measured\n\nMNIST, ${data.train.rows} training and ${data.test?.rows ?? 0} test digits, ${epochs} epochs per model, Adam lr 1e-3, batch 256, backend ${backend.name}.`];
      const json: Record<string, unknown> = { epochs, trainCount: data.train.rows, backend: backend.name };
      if (only.includes('overcomplete')) {
        const rows = overcompleteStudy(data, opts);
        json.overcomplete = rows;
        sections.push(`## Under- versus over-complete\n\n${overcompleteTable(rows)}`);
      }
      if (only.includes('contractive')) {
        const rows = contractiveStudy(data, opts);
        json.contractive = rows;
        sections.push(`## The contractive penalty contracts\n\nOne-layer encoder 784→30 (tanh); the penalty is λ·‖∂h/∂x‖²_F per digit, added to the MSE.\n\n${contractiveTable(rows)}`);
      }
      if (only.includes('pca')) {
        const s = { kind: 'symmetric' as const, ...data.rawRange };
        const studies = [syntheticPcaStudy(opts), pcaStudyOn('MNIST', scaled(data.train, s), scaled(data.test!, s), 30, opts)];
        json.pca = studies;
        sections.push(`## A tied linear autoencoder spans the PCA subspace\n\n${pcaTable(studies)}`);
      }
      ensureDir(f.out);
      const md = sections.join('\n\n') + '\n';
      writeFileAtomic(join(f.out, 'lab.md'), md);
      writeFileAtomic(join(f.out, 'lab.json'), JSON.stringify(json, null, 2) + '\n');
      process.stdout.write(f.json ? JSON.stringify(json) + '\n' : md);
    });
}
