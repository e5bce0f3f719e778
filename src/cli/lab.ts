import type { Command } from 'commander';
import { loadMnistDataset } from '../data/dataset.js';
import { writeOutputs } from '../io/outputs.js';
import { checkLabStudies, LAB_FILES, LAB_STUDIES, labOutputs } from '../apps/lab.js';
import { claimOutputs } from '../io/output-check.js';
import { backendFrom } from './common.js';
import { backendOption, intOption, limitOption } from './options.js';

interface LabFlags {
  out: string;
  epochs: number;
  only?: string;
  limit?: number;
  json?: boolean;
  force?: boolean;
  backend: string;
}

export function registerLab(program: Command): void {
  program
    .command('lab')
    .description("the lecture's claims in numbers: under- vs over-complete codes, the contractive penalty, tied linear AE vs PCA")
    .requiredOption('--out <dir>', 'folder for lab.md and lab.json')
    .addOption(intOption('--epochs <n>', 'epochs for every model trained', { default: 20 }))
    .option('--only <names>', `a comma-separated subset of ${LAB_STUDIES.join(',')}`)
    .addOption(limitOption('use only the first N training rows (and at most N test rows)'))
    .option('--json', 'print JSON')
    .addOption(backendOption())
    .action((f: LabFlags) => {
      const epochs = f.epochs;
      const only = checkLabStudies(f.only === undefined ? [...LAB_STUDIES] : f.only.split(','));
      // Every output checked and locked before the first study trains.
      const claim = claimOutputs({ path: f.out, kind: 'folder', files: LAB_FILES, force: f.force === true });
      const limit = f.limit;
      const backend = backendFrom(f.backend);
      const data = loadMnistDataset(limit === undefined ? {} : { limit });
      const o = labOutputs(data, { epochs, backend, only, onProgress: (line: string) => process.stderr.write(`ae lab: ${line}\n`) });
      writeOutputs(f.out, o, claim.present);
      claim.release();
      process.stdout.write(f.json ? JSON.stringify(o.summary) + '\n' : o.markdown);
    });
}
