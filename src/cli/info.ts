import type { Command } from 'commander';
import { backendInfo, formatBackendInfo } from '../backends/info.js';

interface InfoFlags {
  backend: string;
  json?: boolean;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('the backend, BLAS kernels, threads and CPU that ae uses here, and why each was chosen')
    .option('--backend <name>', 'auto|native|js', 'auto')
    .option('--json', 'print JSON')
    .action((f: InfoFlags) => {
      const info = backendInfo(f.backend);
      process.stdout.write(f.json ? JSON.stringify(info) + '\n' : formatBackendInfo(info).join('\n') + '\n');
    });
}
