import type { Command } from 'commander';
import { writeFileAtomic } from '../io/atomic.js';
import { encodeOnnx, ONNX_IR_VERSION, ONNX_OPSET, ONNX_PARTS, type OnnxPart } from '../io/onnx.js';
import { loadModelFlag } from './common.js';
import { claimOutputs } from '../io/output-check.js';
import { choiceFlag } from './options.js';

interface ExportFlags {
  model: string;
  out: string;
  format: string;
  part: string;
  withScaling?: boolean;
  force?: boolean;
}

const FORMATS = ['onnx'] as const;

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a model, its encoder or its decoder as ONNX (opset 13: Gemm and activations, dynamic batch) for ONNX Runtime, Triton or the browser')
    .requiredOption('--model <file>', 'a model.safetensors written by ae train')
    .requiredOption('--out <file.onnx>', 'the ONNX file to write')
    .option('--format <name>', 'the format to write: onnx', 'onnx')
    .option('--part <name>', `which map: ${ONNX_PARTS.join(', ')} (full: input to reconstruction; encoder: input to code; decoder: code to reconstruction)`, 'full')
    .option('--with-scaling', "take raw values in and give raw values out, through the model's input scaling and its inverse (default: the scaled space the model was trained in)")
    .action((f: ExportFlags) => {
      choiceFlag('--format', f.format, FORMATS);
      const part = choiceFlag<OnnxPart>('--part', f.part, ONNX_PARTS);
      const claim = claimOutputs({ path: f.out, kind: 'file', ext: '.onnx', force: f.force === true, inputs: [{ flag: '--model', path: f.model }] });
      const loaded = loadModelFlag(f.model, 'js');
      const bytes = encodeOnnx(loaded.model, { part, withScaling: f.withScaling === true, config: loaded.config, version: program.version() ?? '' });
      writeFileAtomic(f.out, bytes);
      claim.release();
      const { model } = loaded;
      const from = part === 'decoder' ? `code [batch, ${model.codeSize}]` : `input [batch, ${model.inputSize}]`;
      const to = part === 'encoder' ? `code [batch, ${model.codeSize}]` : `reconstruction [batch, ${model.inputSize}]`;
      process.stdout.write(`wrote ${f.out} (ONNX opset ${ONNX_OPSET}, IR ${ONNX_IR_VERSION}; ${part}: ${from} -> ${to}, ${f.withScaling ? 'raw units' : 'scaled units'}; ${bytes.length} bytes)\n`);
    });
}
