import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { JsBackend } from '../backends/js/index.js';
import type { ActivationName } from '../core/backend.js';
import { matrix, type Matrix } from '../core/matrix.js';
import { Rng } from '../core/rng.js';
import { loadMnist } from '../data/mnist.js';
import { scaleInto, scalingFor, unscaleInto, type Scaling } from '../data/scaling.js';
import { Autoencoder } from '../nn/autoencoder.js';
import { encodeOnnx, ONNX_PARTS, type OnnxPart } from './onnx.js';
import { saveModel } from './model-file.js';
import { ae } from '../cli/testing.js';

type Ort = typeof import('onnxruntime-node');
const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;

const backend = new JsBackend();
const HERE = dirname(fileURLToPath(import.meta.url));
const raw = loadMnist({ testLimit: 1000, trainLimit: 1 }).test.images;
const MNIST_SCALING = scalingFor('symmetric', 0, 255);

function model(layers: number[], activation: ActivationName, outputActivation: ActivationName, tied: boolean, seed: number): Autoencoder {
  return new Autoencoder({ layers, activation, outputActivation, tied }, backend, new Rng(seed));
}

/** What ae computes for a part, in the units the ONNX graph uses. */
function ours(m: Autoencoder, part: OnnxPart, x: Matrix, scaling: Scaling, withScaling: boolean): { input: Matrix; output: Float32Array } {
  const scaledIn = withScaling ? x : matrix(x.rows, x.cols, scaleInto(x.data, scaling));
  const s = matrix(x.rows, x.cols, withScaling ? scaleInto(x.data, scaling) : scaledIn.data);
  if (part === 'encoder') return { input: scaledIn, output: m.encode(s).data };
  if (part === 'decoder') {
    const code = m.encode(s);
    const y = m.decode(code).data;
    return { input: code, output: withScaling ? unscaleInto(y, scaling) : y };
  }
  const y = m.reconstruct(s).data;
  return { input: scaledIn, output: withScaling ? unscaleInto(y, scaling) : y };
}

async function run(bytes: Uint8Array, input: Matrix): Promise<{ name: string; data: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const name = session.inputNames[0]!;
  const feeds = { [name]: new ort.Tensor('float32', Float32Array.from(input.data), [input.rows, input.cols]) };
  const out = await session.run(feeds);
  const outName = session.outputNames[0]!;
  return { name: outName, data: out[outName]!.data as Float32Array };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const CASES: Array<[string, Autoencoder]> = [
  ['784→30 tanh/tanh', model([784, 30], 'tanh', 'tanh', false, 1)],
  ['784→64→16 sigmoid/sigmoid', model([784, 64, 16], 'sigmoid', 'sigmoid', false, 2)],
  ['784→50 relu/linear', model([784, 50], 'relu', 'linear', false, 3)],
  ['784→20 linear/linear', model([784, 20], 'linear', 'linear', false, 4)],
  ['784→128→30 tanh/tanh tied', model([784, 128, 30], 'tanh', 'tanh', true, 5)],
];

for (const [name, m] of CASES) {
  for (const part of ONNX_PARTS) {
    for (const withScaling of [false, true]) {
      test(`ONNX ${part}${withScaling ? ' with scaling' : ''} of ${name} matches ae's forward pass on 1000 test digits within 1e-5`, async () => {
        const bytes = encodeOnnx(m, { part, withScaling, config: { scaling: MNIST_SCALING } });
        const want = ours(m, part, raw, MNIST_SCALING, withScaling);
        const got = await run(bytes, want.input);
        assert.equal(got.name, part === 'encoder' ? 'code' : 'reconstruction');
        // Raw outputs are 127.5 times the scaled ones; the bound is on the scaled space's.
        const unit = withScaling && part !== 'encoder' ? 127.5 : 1;
        const d = maxDiff(got.data, want.output) / unit;
        assert.ok(d <= 1e-5, `largest difference ${d}`);
      });
    }
  }
}

test('ONNX graph: opset 13, Gemm with transB=1 on stored weights, a dynamic batch, state_dict names; a tied decoder reuses the encoder weight', () => {
  const m = CASES[4]![1];
  const decoded = onnxProto.onnx.ModelProto.decode(encodeOnnx(m, { config: { scaling: MNIST_SCALING } }));
  assert.equal(Number(decoded.opsetImport[0]!.version), 13);
  const g = decoded.graph as onnxProto.onnx.GraphProto;
  assert.deepEqual(g.node.map((n) => `${n.name}:${n.opType}`), [
    'encoder.0:Gemm', 'encoder.1:Tanh', 'encoder.2:Gemm', 'encoder.3:Tanh', 'decoder.0:Gemm', 'decoder.1:Tanh', 'decoder.2:Gemm', 'decoder.3:Tanh',
  ]);
  assert.deepEqual(g.initializer.map((t) => t.name), ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'decoder.0.bias', 'decoder.2.bias']);
  assert.deepEqual(g.node.filter((n) => n.opType === 'Gemm').map((n) => `${n.input![1]} transB=${Number(n.attribute![0]!.i)}`), [
    'encoder.0.weight transB=1', 'encoder.2.weight transB=1', 'encoder.2.weight transB=0', 'encoder.0.weight transB=0',
  ]);
  assert.equal(g.input[0]!.type!.tensorType!.shape!.dim![0]!.dimParam, 'batch');
  assert.equal(Number(g.input[0]!.type!.tensorType!.shape!.dim![1]!.dimValue), 784);
});

test('ONNX with scaling uses a table\'s per-feature ranges', async () => {
  const m = model([3, 2], 'tanh', 'linear', false, 9);
  const scaling: Scaling = { kind: 'unit', min: -5, max: 6000, featureMin: [0, -5, 5000], featureMax: [1, 5, 6000] };
  const x = matrix(4, 3, Float32Array.from([0, -5, 5000, 1, 5, 6000, 0.5, 0, 5500, 0.25, 2, 5100]));
  const want = ours(m, 'full', x, scaling, true);
  const got = await run(encodeOnnx(m, { withScaling: true, config: { scaling } }), x);
  assert.ok(maxDiff(got.data, want.output) <= 1e-5 * 1000, String(maxDiff(got.data, want.output)));
  assert.throws(() => encodeOnnx(model([4, 2], 'tanh', 'tanh', false, 1), { withScaling: true, config: { scaling } }), /scaling: expected 4 features/);
});

test('ae export writes an ONNX file ONNX Runtime runs; bad --part and an existing --out are refused with exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-onnx-'));
  try {
    const m = CASES[0]![1];
    const modelPath = join(dir, 'model.safetensors');
    saveModel(modelPath, m, { scaling: MNIST_SCALING, loss: 'mse', training: {} });
    const out = join(dir, 'enc.onnx');
    const r = ae('export', '--model', modelPath, '--part', 'encoder', '--with-scaling', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /encoder: input \[batch, 784\] -> code \[batch, 30\], raw units/);
    const want = ours(m, 'encoder', raw, MNIST_SCALING, true);
    const got = await run(readFileSync(out), want.input);
    assert.ok(maxDiff(got.data, want.output) <= 1e-5);
    const bad = ae('export', '--model', modelPath, '--part', 'middle', '--out', join(dir, 'x.onnx'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.trim(), /^ae: --part: expected one of full, encoder, decoder, received "?middle"?$/);
    writeFileSync(join(dir, 'keep.onnx'), 'mine');
    const exists = ae('export', '--model', modelPath, '--out', join(dir, 'keep.onnx'));
    assert.equal(exists.code, 2);
    assert.equal(readFileSync(join(dir, 'keep.onnx'), 'utf8'), 'mine');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const PY = '/usr/bin/python3';
const torchOk = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test("PyTorch's own ONNX export of the same module has the same graph: ops, transB, initialiser names and shapes, dynamic batch, opset", { skip: torchOk ? false : 'no /usr/bin/python3 with torch' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-onnx-torch-'));
  try {
    for (const [name, m] of [CASES[0]!, CASES[1]!]) {
      const modelPath = join(dir, 'model.safetensors');
      saveModel(modelPath, m, { scaling: MNIST_SCALING, loss: 'mse', training: {} });
      const theirsPath = join(dir, 'torch.onnx');
      const a = m.config;
      const script = `
import sys, json, torch; sys.path.insert(0, ${JSON.stringify(join(HERE, '..', '..', 'python'))})
import aekit_torch as A
tensors, meta = A.read_safetensors(${JSON.stringify(modelPath)})
m = A.Autoencoder(${JSON.stringify(a.layers)}, ${JSON.stringify(a.activation)}, ${JSON.stringify(a.outputActivation)})
m.load_state_dict(tensors, strict=True)
torch.onnx.export(m, torch.zeros(2, ${m.inputSize}), ${JSON.stringify(theirsPath)}, opset_version=13, input_names=['input'], output_names=['reconstruction'], dynamic_axes={'input': {0: 'batch'}, 'reconstruction': {0: 'batch'}})
`;
      const r = spawnSync(PY, ['-c', script], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const shape = (bytes: Uint8Array) => {
        const g = onnxProto.onnx.ModelProto.decode(bytes).graph as onnxProto.onnx.GraphProto;
        return {
          ops: g.node.map((n) => `${n.opType}${n.opType === 'Gemm' ? ` transB=${Number(n.attribute!.find((x) => x.name === 'transB')?.i ?? 0)}` : ''}`),
          initializers: g.initializer.map((t) => `${t.name} [${t.dims!.map(Number).join(', ')}]`),
          input: g.input[0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue)),
        };
      };
      const theirs = readFileSync(theirsPath);
      const ours = encodeOnnx(m, { config: { scaling: MNIST_SCALING } });
      assert.deepEqual(shape(ours), shape(theirs), name);
      // And both give the same reconstructions.
      const x = matrix(50, 784, scaleInto(raw.data.slice(0, 50 * 784), MNIST_SCALING));
      assert.ok(maxDiff((await run(ours, x)).data, (await run(theirs, x)).data) <= 1e-5);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
