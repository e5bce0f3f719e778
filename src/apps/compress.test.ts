import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBackend } from '../backends/index.js';
import { ValidationError } from '../core/errors.js';
import { matrix } from '../core/matrix.js';
import { loadMnistDataset } from '../data/dataset.js';
import { decodePng } from '../viz/image.js';
import { decodeCodes } from '../io/codes.js';
import { prepareTraining } from '../train/recipe.js';
import {
  checkCodesModel,
  csvOf,
  decodeRows,
  encodeSplit,
  greyPng,
  isEightBit,
  losslessBaselines,
  psnrStats,
  rateDistortion,
  rdSpec,
  rdFiles,
  rdNotes,
  rdTable,
} from './compress.js';

test('psnrStats: the mean of per-row PSNR (peak 1, capped at 100 dB) and the mean MSE', () => {
  const ref = matrix(2, 4, new Float32Array([0, 0, 0, 0, 1, 1, 1, 1]));
  const exact = psnrStats(ref, ref);
  assert.deepEqual(exact, { psnr: 100, mse: 0 });
  // Row 0 off by 0.1 everywhere: MSE 0.01, 20 dB; row 1 exact: 100 dB.
  const t = matrix(2, 4, new Float32Array([0.1, 0.1, 0.1, 0.1, 1, 1, 1, 1]));
  const s = psnrStats(ref, t);
  assert.ok(Math.abs(s.psnr - 60) < 1e-5, String(s.psnr));
  assert.ok(Math.abs(s.mse - 0.005) < 1e-8);
  // Row 1 off by 0.01: 40 dB; the mean is of the dB values, not of the MSEs.
  const u = matrix(2, 4, new Float32Array([0.1, 0.1, 0.1, 0.1, 0.99, 0.99, 0.99, 0.99]));
  assert.ok(Math.abs(psnrStats(ref, u).psnr - 30) < 1e-4);
  assert.throws(() => psnrStats(ref, matrix(1, 4)), ValidationError);
});

test('lossless baselines: raw bytes, a PNG per image that decodes to the same pixels, one deflate stream', () => {
  const data = loadMnistDataset({ limit: 50 });
  const test = data.test!;
  assert.ok(isEightBit(test));
  assert.equal(isEightBit(matrix(1, 2, new Float32Array([0, 0.5]))), false);
  const rows = losslessBaselines(test, data.image);
  assert.deepEqual(rows.map((r) => [r.method, r.format, r.lossless, r.psnr]), [['raw', 'u8', true, null], ['png', 'png', true, null], ['deflate', 'deflate', true, null]]);
  assert.equal(rows[0]!.bytesPerImage, 784);
  const pixels = Uint8Array.from(test.data.subarray(0, 784));
  const png = decodePng(greyPng(pixels, { width: 28, height: 28 }));
  assert.deepEqual([png.width, png.height], [28, 28]);
  for (let i = 0; i < 784; i++) assert.equal(png.data[4 * i], pixels[i]);
  assert.ok(rows[1]!.bytesPerImage > 67 && rows[1]!.bytesPerImage < 784, String(rows[1]!.bytesPerImage));
  assert.ok(rows[2]!.bytesPerImage < rows[1]!.bytesPerImage);
});

test('rateDistortion: every method and format, bytes per image, and PSNR that follows the code size and precision', async () => {
  const data = loadMnistDataset({ limit: 300 });
  const lines: string[] = [];
  const r = rateDistortion(data, { dims: [8, 4], epochs: 5, backend: resolveBackend('auto').backend, onProgress: (l) => lines.push(l) });
  assert.deepEqual(r.dims, [4, 8]);
  assert.equal(r.testCount, 300);
  assert.equal(r.models.length, 2);
  assert.ok(lines.some((l) => /training 784->8->784/.test(l)));
  assert.equal(r.rows.length, 2 * 3 * 2 + 3);
  const get = (method: string, d: number, format: string) => r.rows.find((x) => x.method === method && x.d === d && x.format === format)!;
  for (const method of ['autoencoder', 'pca']) {
    for (const d of [4, 8]) {
      const [f32, f16, q8] = [get(method, d, 'f32'), get(method, d, 'f16'), get(method, d, 'q8')];
      assert.deepEqual([f32.bytesPerImage, f16.bytesPerImage, q8.bytesPerImage], [4 * d, 2 * d, d]);
      assert.equal(f32.overheadBytes, f16.overheadBytes);
      assert.ok(q8.overheadBytes > f32.overheadBytes, 'q8 carries a scale and offset per dimension');
      assert.ok(Math.abs(f32.overheadPerImage * 300 - f32.overheadBytes) < 1e-9);
      for (const row of [f32, f16, q8]) {
        assert.ok(row.psnr! > 3 && row.psnr! < 40, `${method} d=${d} ${row.format}: ${row.psnr}`);
        // Jensen: the mean of −log MSE is at least −log of the mean MSE.
        assert.ok(row.psnr! >= 10 * Math.log10(1 / row.mse) - 1e-9);
      }
      assert.ok(Math.abs(f16.psnr! - f32.psnr!) < 0.01);
      assert.ok(Math.abs(q8.psnr! - f32.psnr!) < 0.1);
      // The scored rows went through the file format: 8-bit codes lose something.
      assert.notEqual(q8.mse, f32.mse);
    }
  }
  assert.ok(get('pca', 8, 'f32').psnr! > get('pca', 4, 'f32').psnr!);
  assert.equal(r.rows.filter((x) => x.lossless).length, 3);
  const table = rdTable(r);
  assert.equal(table.split('\n').length, 2 + r.rows.length);
  assert.match(table, /\| autoencoder \| 8 \| q8 \| 8 \| \d+ \| [0-9.]+ \| 98\.0× \| [0-9.]+ \| -?[0-9.]+ \|/);
  assert.match(table, /\| raw 8-bit pixels \| — \| u8 \| 784 \| — \| — \| 1\.0× \| lossless \|/);
  assert.match(rdNotes(r), /300 test digits/);
  const files = await rdFiles(r);
  assert.deepEqual(files.map((f) => f.name), ['rd.md', 'rd.json', 'rd.png', 'rd.svg', 'rd.vl.json']);
  assert.match(files[0]!.contents as string, /^# Rate-distortion: the encoder as a compressor\n\n\| method \|[^]*300 test digits[^]*Total time [0-9.]+ s\.\n$/);
  assert.deepEqual(JSON.parse(files[1]!.contents as string).dims, [4, 8]);
  const png = decodePng(files[2]!.contents as Uint8Array);
  assert.ok(png.width > 1300 && png.height > 900, `${png.width}x${png.height}`);
  const svg = files[3]!.contents as string;
  assert.match(svg, /<text[^>]*>Rate-distortion, 300 MNIST test digits<\/text>/);
  assert.match(svg, />16 B<\/text>/);
  assert.match(svg, />autoencoder q8<\/text>/);
  assert.deepEqual(JSON.parse(files[4]!.contents as string).layer.length, 3);
});

test('rdSpec: PSNR against bytes on a log axis with byte ticks, a line and a legend entry per method and format', () => {
  const row = (method: 'autoencoder' | 'pca', d: number, format: 'f32' | 'f16' | 'q8', psnr: number) => ({ method, d, format, bytesPerImage: d * { f32: 4, f16: 2, q8: 1 }[format], overheadBytes: 0, overheadPerImage: 0, psnr, mse: 0.01, lossless: false });
  const rows = [row('autoencoder', 4, 'f32', 14), row('autoencoder', 8, 'f32', 17), row('autoencoder', 4, 'q8', 13.9), row('autoencoder', 8, 'q8', 16.9), row('pca', 4, 'f32', 12), row('pca', 8, 'f32', 14)];
  const r = { testCount: 50, rows: [...rows, { method: 'raw', d: null, format: 'u8', bytesPerImage: 784, overheadBytes: 0, overheadPerImage: 0, psnr: null, mse: 0, lossless: true }] } as unknown as Parameters<typeof rdSpec>[0];
  const s = rdSpec(r) as any;
  assert.equal(s.title.text, 'Rate-distortion, 50 MNIST test digits');
  assert.equal(s.encoding.x.field, 'bytesPerImage');
  assert.equal(s.encoding.x.scale.type, 'log');
  assert.deepEqual(s.encoding.x.axis.values, [4, 8, 16, 32]);
  assert.match(s.encoding.x.axis.labelExpr, /' B'/);
  assert.match(s.encoding.x.title, /bytes per image/);
  assert.equal(s.encoding.y.field, 'psnr');
  assert.equal(s.encoding.y.title, 'mean PSNR (dB)');
  // The lossless rows are not drawn; each lossy row is one point.
  assert.equal(s.data.values.length, 6);
  const line = s.layer[0];
  assert.equal(line.mark.type, 'line');
  assert.deepEqual(line.encoding.color.scale.domain, ['autoencoder f32', 'autoencoder q8', 'PCA f32']);
  // One legend, of coloured stroke samples (not white), the PCA line dashed.
  assert.equal(line.encoding.color.legend.symbolType, 'stroke');
  assert.ok(line.encoding.color.scale.range.every((c: string) => c !== '#ffffff' && c !== 'white'));
  assert.deepEqual(line.encoding.strokeDash.scale.range[2], [6, 4]);
  // Colour and dash share the field, title and legend: one legend of coloured dashed samples.
  assert.equal(line.encoding.strokeDash.legend, line.encoding.color.legend);
  assert.equal(line.encoding.strokeDash.title, line.encoding.color.title);
  // The point and label layers share the line's colour (one merged legend).
  assert.ok(s.layer.slice(1).every((l: any) => l.encoding.color === line.encoding.color));
  assert.deepEqual(s.data.values.filter((v: any) => v.label).map((v: any) => v.label), ['d=4', 'd=8']);
});

test('rateDistortion refuses bad code sizes and data without a test set', () => {
  const data = loadMnistDataset({ limit: 20 });
  const backend = resolveBackend('auto').backend;
  assert.throws(() => rateDistortion(data, { dims: [0], epochs: 1, backend }), /dims\[0\]: expected an integer in \[1, 784\], received 0/);
  assert.throws(() => rateDistortion(data, { dims: [], epochs: 1, backend }), /dims: expected at least one code size/);
  assert.throws(() => rateDistortion({ ...data, test: null }, { dims: [2], epochs: 1, backend }), /expected a test set/);
});

test("encodeSplit, checkCodesModel, decodeRows: a table's rows to codes and back to raw values under its column names", () => {
  const backend = resolveBackend('auto').backend;
  // Three columns in their own units, rows on a line through the box so a 1-unit code can hold them.
  const rows = 40;
  const raw = matrix(rows, 3);
  for (let r = 0; r < rows; r++) raw.data.set([r, 100 + 2 * r, -r / 10], 3 * r);
  const data = { source: 't.csv', train: raw, test: raw, rawRange: { min: -4, max: 178 }, image: null, perFeature: true, columns: ['a', 'b,2', 'c'] };
  const trained = (seed: number) => {
    const run = prepareTraining({ layers: [3, 1], epochs: 5, seed, scale: 'unit', outputActivation: 'sigmoid', activation: 'linear', lr: 1e-2 }, data, backend);
    run.fit();
    return { model: run.model, config: run.config };
  };
  const loaded = trained(0);
  const { bytes, report } = encodeSplit(loaded, data, 'test', 'f32', { kind: 'csv', path: 't.csv', part: 'validation' });
  assert.match(report, /^40 codes of 1 dims \(f32\), \d+ bytes = 160 of codes \+ \d+ of header; [0-9.]+ bytes per row against 3 values per input row$/);
  const decoded = decodeCodes(bytes);
  assert.equal(decoded.meta.note, 't.csv held-out rows 1..40');
  assert.equal(encodeSplit(loaded, data, 'train', 'q8', { kind: 'mnist', path: 'mnist', part: 'test' }).bytes.length > 0, true);
  assert.throws(() => encodeSplit(loaded, { ...data, test: null }, 'test', 'f32', { kind: 'csv', path: 't.csv', part: 'all' }), ValidationError);
  checkCodesModel(decoded, loaded, { codes: 'c.safetensors', model: 'm' });
  assert.throws(() => checkCodesModel(decoded, trained(1), { codes: 'c.safetensors', model: 'other' }), /^ValidationError: c\.safetensors: expected codes written by other \(.*received codes from a different model/);
  assert.throws(() => checkCodesModel({ ...decoded, meta: { ...decoded.meta, model: null } }, loaded, { codes: 'c.safetensors', model: 'm' }), /received codes with no model/);
  const csv = decodeRows(loaded, decoded, { kind: 'csv', count: 3 });
  const lines = (csv.contents as string).split('\n');
  assert.deepEqual([lines[0], lines.length], ['a,"b,2",c', 5]);
  assert.match(csv.report, /^3 of 40 codes \(f32\) decoded to rows of raw values \(-?[0-9.e-]+ to [0-9.e]+\)$/);
  // The decoded values are in the columns' own units: column b lies near 100..178, not in [0, 1].
  const b = Number(lines[1]!.split(',')[1]);
  assert.ok(b > 50 && b < 200, lines[1]);
  assert.throws(() => decodeRows(loaded, decoded, { kind: 'png', image: null }), ValidationError);
  assert.equal(csvOf(matrix(1, 2, new Float32Array([1 / 3, 2])), ['x"y', 'z']), '"x""y",z\n0.3333333,2\n');
});
