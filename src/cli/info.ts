import type { Command } from 'commander';
import { backendOption } from './options.js';
import { backendInfo, formatBackendInfo } from '../backends/info.js';

interface InfoFlags {
  backend: string;
  json?: boolean;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('the backend, BLAS kernels, threads and CPU that ae uses here, and why each was chosen')
    .addOption(backendOption())
    .option('--json', 'print JSON')
    .action((f: InfoFlags) => {
      const info = backendInfo(f.backend);
      process.stdout.write(f.json ? JSON.stringify(info) + '\n' : formatBackendInfo(info).join('\n') + '\n');
    });
}
