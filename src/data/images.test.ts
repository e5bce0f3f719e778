import { after, test } from 'node:test';
import { Rng } from '../core/rng.js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataFormatError, ValidationError } from '../core/errors.js';
import { IMAGE_EXTENSIONS, looksLikeImageFolder, readImageFolder } from './images.js';

const root = mkdtempSync(join(tmpdir(), 'images-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

let folderCount = 0;
/** A fresh empty folder under the test's temp root. */
function freshDir(label: string): string {
  const dir = join(root, `${label}-${folderCount++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Encodes interleaved 8-bit pixels (1 = gray, 3 = RGB, 4 = RGBA) as PNG or JPEG bytes. */
async function encode(
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  format: 'png' | 'jpeg' = 'png',
): Promise<Buffer> {
  assert.equal(pixels.length, width * height * channels, 'test pixel count');
  let img = sharp(Buffer.from(Uint8Array.from(pixels)), { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w'); // a true 1-channel file, not RGB
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer();
}

async function writeImage(
  path: string,
  pixels: ArrayLike<number>,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
  format: 'png' | 'jpeg' = 'png',
): Promise<void> {
  writeFileSync(path, await encode(pixels, width, height, channels, format));
}

/** Gray pixels whose values depend on the image index k, so rows can be told apart. */
function grayPattern(width: number, height: number, k: number): number[] {
  return Array.from({ length: width * height }, (_, i) => (i * 31 + k * 57 + 3) % 256);
}

function uniform(width: number, height: number, channels: number, value: number): number[] {
  return new Array<number>(width * height * channels).fill(value);
}

/** Asserts a promise rejects with a one-line DataFormatError matching every pattern. */
async function rejectsFormat(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DataFormatError, `expected DataFormatError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message is one line');
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

async function rejectsValidation(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'message is one line');
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('IMAGE_EXTENSIONS lists PNG and JPEG endings', () => {
  assert.deepEqual([...IMAGE_EXTENSIONS], ['.png', '.jpg', '.jpeg']);
});

test('reads a flat folder of 8x6 gray PNGs exactly, in code-unit order', async () => {
  const dir = freshDir('flat');
  // Written out of order; 'B.png' sorts before 'a.png' by code unit (a locale sort would not).
  const names = ['c.PNG', 'a.png', 'B.png'];
  for (const [k, name] of names.entries()) await writeImage(join(dir, name), grayPattern(8, 6, k), 8, 6, 1);
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  writeFileSync(join(dir, '.hidden.png'), 'hidden, never read');
  mkdirSync(join(dir, 'empty-sub')); // a subfolder without images does not make the layout mixed

  const out = await readImageFolder(dir);
  assert.deepEqual(out.files, ['B.png', 'a.png', 'c.PNG']);
  assert.equal(out.rows, 3);
  assert.equal(out.width, 8);
  assert.equal(out.height, 6);
  assert.equal(out.channels, 1);
  assert.equal(out.labels, null);
  assert.equal(out.classes, null);
  assert.ok(out.data instanceof Float32Array);
  assert.equal(out.data.length, 3 * 8 * 6);
  for (const [row, name] of out.files.entries()) {
    const k = names.indexOf(name);
    assert.deepEqual([...out.data.subarray(row * 48, (row + 1) * 48)], grayPattern(8, 6, k), name);
  }
});

test('class subfolders give sorted classes and per-row labels', async () => {
  const dir = freshDir('classes');
  const layout: Record<string, string[]> = { dog: ['2.png', '1.png'], cat: ['x.jpg'], Zebra: ['z.png', 'a.jpeg'] };
  let k = 0;
  const valueOf = new Map<string, number>();
  for (const [cls, files] of Object.entries(layout)) {
    mkdirSync(join(dir, cls));
    for (const f of files) {
      const v = 20 * ++k;
      valueOf.set(`${cls}/${f}`, v);
      await writeImage(join(dir, cls, f), uniform(4, 4, 1, v), 4, 4, 1, f.endsWith('.png') ? 'png' : 'jpeg');
    }
  }
  mkdirSync(join(dir, '.cache'));
  await writeImage(join(dir, '.cache', 'junk.png'), uniform(4, 4, 1, 0), 4, 4, 1);

  const out = await readImageFolder(dir);
  assert.deepEqual(out.classes, ['Zebra', 'cat', 'dog']);
  assert.deepEqual(out.files, ['Zebra/a.jpeg', 'Zebra/z.png', 'cat/x.jpg', 'dog/1.png', 'dog/2.png']);
  assert.ok(out.labels instanceof Int32Array);
  assert.deepEqual([...out.labels], [0, 0, 1, 2, 2]);
  assert.equal(out.rows, 5);
  for (const [row, file] of out.files.entries()) {
    const v = valueOf.get(file)!;
    for (const x of out.data.subarray(row * 16, (row + 1) * 16)) assert.ok(Math.abs(x - v) <= 2, `${file}: ${x} vs ${v}`);
  }
});

test('rgb rows are channel-major (C,H,W)', async () => {
  const dir = freshDir('rgb');
  const w = 8;
  const h = 6;
  const px = uniform(w, h, 3, 0);
  const at = (x: number, y: number, rgb: [number, number, number]): void => {
    px.splice((y * w + x) * 3, 3, ...rgb);
  };
  at(2, 1, [10, 200, 30]);
  at(7, 5, [255, 128, 1]);
  await writeImage(join(dir, 'a.png'), px, w, h, 3);
  await writeImage(join(dir, 'b.png'), grayPattern(w, h, 0), w, h, 1); // gray source, rgb output

  const out = await readImageFolder(dir, { color: 'rgb' });
  assert.equal(out.channels, 3);
  assert.equal(out.data.length, 2 * 3 * w * h);
  const plane = w * h;
  const get = (row: number, c: number, x: number, y: number): number => out.data[row * 3 * plane + c * plane + y * w + x]!;
  assert.deepEqual([get(0, 0, 2, 1), get(0, 1, 2, 1), get(0, 2, 2, 1)], [10, 200, 30]);
  assert.deepEqual([get(0, 0, 7, 5), get(0, 1, 7, 5), get(0, 2, 7, 5)], [255, 128, 1]);
  assert.deepEqual([get(0, 0, 0, 0), get(0, 1, 0, 0), get(0, 2, 0, 0)], [0, 0, 0]);
  // Planes are whole: the first plane holds only red values.
  const red = [...out.data.subarray(0, plane)];
  assert.equal(red.filter((v) => v !== 0).length, 2);
  // A gray source repeats in all three planes.
  const gray = grayPattern(w, h, 0);
  for (let c = 0; c < 3; c++) {
    assert.deepEqual([...out.data.subarray(3 * plane + c * plane, 3 * plane + (c + 1) * plane)], gray, `plane ${c}`);
  }
});

test("gray from a colour image is PIL's convert('L') luma, as torchvision's grey loaders get", async () => {
  const dir = freshDir('luma');
  // Pure red, green, blue and one mixed pixel: PIL gives 76, 150, 29 and (10·299 + 200·587 + 30·114) / 1000 = 124.
  await writeImage(join(dir, 'a.png'), [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30], 4, 1, 3);
  const out = await readImageFolder(dir);
  assert.equal(out.channels, 1);
  assert.deepEqual([...out.data], [76, 150, 29, 124]);
});

test('reads a JPEG within a tolerance', async () => {
  const dir = freshDir('jpeg');
  const w = 16;
  const h = 12;
  const smooth = Array.from({ length: w * h }, (_, i) => 40 + (i % w) * 8 + Math.floor(i / w) * 4);
  await writeImage(join(dir, 'g.jpg'), smooth, w, h, 1, 'jpeg');
  const out = await readImageFolder(dir);
  assert.equal(out.width, w);
  assert.equal(out.height, h);
  assert.equal(out.channels, 1);
  const worst = Math.max(...[...out.data].map((v, i) => Math.abs(v - smooth[i]!)));
  assert.ok(worst <= 6, `JPEG error ${worst}`);

  const rgbDir = freshDir('jpeg-rgb');
  await writeImage(join(rgbDir, 'c.jpeg'), uniform(w, h, 3, 0).map((_, i) => [200, 100, 50][i % 3]!), w, h, 3, 'jpeg');
  const rgb = await readImageFolder(rgbDir, { color: 'rgb' });
  const plane = w * h;
  for (const [c, v] of [200, 100, 50].entries()) {
    for (const x of rgb.data.subarray(c * plane, (c + 1) * plane)) assert.ok(Math.abs(x - v) <= 3, `channel ${c}: ${x} vs ${v}`);
  }
});

test('resizes to the first image size, or to size when given', async () => {
  const dir = freshDir('resize');
  await writeImage(join(dir, 'a.png'), grayPattern(8, 6, 1), 8, 6, 1);
  await writeImage(join(dir, 'b.png'), uniform(16, 12, 1, 100), 16, 12, 1);
  await writeImage(join(dir, 'c.png'), uniform(3, 5, 1, 200), 3, 5, 1);

  const out = await readImageFolder(dir);
  assert.equal(out.width, 8);
  assert.equal(out.height, 6);
  assert.equal(out.data.length, 3 * 48);
  assert.deepEqual([...out.data.subarray(0, 48)], grayPattern(8, 6, 1), 'the first image is not resampled');
  assert.deepEqual([...out.data.subarray(48, 96)], uniform(8, 6, 1, 100), 'downscaled uniform image stays uniform');
  assert.deepEqual([...out.data.subarray(96)], uniform(8, 6, 1, 200), 'upscaled (and stretched) uniform image stays uniform');

  const sized = await readImageFolder(dir, { size: { width: 4, height: 3 } });
  assert.equal(sized.width, 4);
  assert.equal(sized.height, 3);
  assert.equal(sized.data.length, 3 * 12);
  assert.deepEqual([...sized.data.subarray(12, 24)], uniform(4, 3, 1, 100));
  assert.deepEqual([...sized.data.subarray(24)], uniform(4, 3, 1, 200));
  for (const v of sized.data.subarray(0, 12)) assert.ok(v >= 0 && v <= 255);

  const rgb = await readImageFolder(dir, { size: { width: 5, height: 7 }, color: 'rgb' });
  assert.equal(rgb.data.length, 3 * 5 * 7 * 3);
  assert.deepEqual([...rgb.data.subarray(105, 210)], uniform(5, 7, 3, 100));
});

test('a PNG with alpha gives exactly 1 channel in gray and 3 in rgb, alpha dropped', async () => {
  const dir = freshDir('alpha');
  const w = 4;
  const h = 2;
  // Gray colours (r = g = b) under varying alpha, including fully transparent.
  const values = [0, 30, 60, 90, 120, 150, 200, 255];
  const alphas = [255, 0, 128, 1, 255, 0, 64, 255];
  const rgba = values.flatMap((v, i) => [v, v, v, alphas[i]!]);
  await writeImage(join(dir, 'a.png'), rgba, w, h, 4);
  const meta = await sharp(join(dir, 'a.png')).metadata();
  assert.equal(meta.channels, 4, 'the test file really has alpha');

  const gray = await readImageFolder(dir);
  assert.equal(gray.channels, 1);
  assert.equal(gray.data.length, w * h);
  assert.deepEqual([...gray.data], values, 'the colour under the alpha is kept, not composited');

  const rgb = await readImageFolder(dir, { color: 'rgb' });
  assert.equal(rgb.channels, 3);
  assert.equal(rgb.data.length, w * h * 3);
  assert.deepEqual([...rgb.data], [...values, ...values, ...values]);
});

test('16-bit PNGs come out scaled to 0..255', async () => {
  const dir = freshDir('deep');
  const png16 = await sharp(Buffer.from([255, 0, 0, 0, 128, 0]), { raw: { width: 2, height: 1, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toBuffer();
  assert.equal((await sharp(png16).metadata()).depth, 'ushort', 'the test file really is 16-bit');
  writeFileSync(join(dir, 'deep.png'), png16);
  const out = await readImageFolder(dir, { color: 'rgb' });
  assert.deepEqual([...out.data], [255, 0, 0, 128, 0, 0]);
});

test('keeps row order with many files decoded concurrently', async () => {
  const dir = freshDir('many');
  const n = 40;
  for (let k = 0; k < n; k++) {
    // Alternate sizes so some decodes (resizes) take longer than others.
    const size = k % 3 === 0 ? 12 : 4;
    await writeImage(join(dir, `img-${String(k).padStart(3, '0')}.png`), uniform(size, size, 1, k * 6), size, size, 1);
  }
  const out = await readImageFolder(dir);
  assert.equal(out.rows, n);
  assert.equal(out.width, 12);
  for (let k = 0; k < n; k++) {
    assert.equal(out.files[k], `img-${String(k).padStart(3, '0')}.png`);
    assert.deepEqual([...new Set(out.data.subarray(k * 144, (k + 1) * 144))], [k * 6], `row ${k}`);
  }
});

test('a file rewritten in place is read again, not served from a cache', async () => {
  const dir = freshDir('rewrite');
  await writeImage(join(dir, 'a.png'), uniform(4, 4, 1, 10), 4, 4, 1);
  assert.deepEqual([...new Set((await readImageFolder(dir)).data)], [10]);
  await writeImage(join(dir, 'a.png'), uniform(4, 4, 1, 99), 4, 4, 1);
  assert.deepEqual([...new Set((await readImageFolder(dir)).data)], [99]);
});

test('looksLikeImageFolder', async () => {
  const flat = freshDir('looks-flat');
  await writeImage(join(flat, 'a.JPG'), uniform(2, 2, 1, 0), 2, 2, 1, 'jpeg');
  const classes = freshDir('looks-classes');
  mkdirSync(join(classes, 'one'));
  await writeImage(join(classes, 'one', 'a.png'), uniform(2, 2, 1, 0), 2, 2, 1);
  const textOnly = freshDir('looks-text');
  writeFileSync(join(textOnly, 'a.csv'), '1,2\n');
  writeFileSync(join(textOnly, '.b.png'), '');
  const file = join(textOnly, 'a.csv');
  assert.equal(looksLikeImageFolder(flat), true);
  assert.equal(looksLikeImageFolder(classes), true);
  assert.equal(looksLikeImageFolder(freshDir('looks-empty')), false);
  assert.equal(looksLikeImageFolder(textOnly), false);
  assert.equal(looksLikeImageFolder(file), false);
  assert.equal(looksLikeImageFolder(join(root, 'no-such-folder')), false);
});

test('refuses a missing folder and a file path', async () => {
  const missing = join(root, 'does-not-exist');
  await rejectsFormat(readImageFolder(missing), new RegExp(`^${escapeRe(missing)}: `), /expected a folder of PNG or JPEG images/, /ENOENT/);
  const dir = freshDir('file-path');
  const file = join(dir, 'a.png');
  await writeImage(file, uniform(2, 2, 1, 0), 2, 2, 1);
  await rejectsFormat(readImageFolder(file), new RegExp(`^${escapeRe(file)}: `), /received a file, not a folder/);
});

test('refuses a folder with no images', async () => {
  const empty = freshDir('empty');
  const message = `${empty}: expected PNG or JPEG files (or one subfolder of them per class), received none in ${empty}`;
  await rejectsFormat(readImageFolder(empty), new RegExp(`^${escapeRe(message)}$`));
  const other = freshDir('no-images');
  writeFileSync(join(other, 'data.csv'), '1,2,3\n');
  writeFileSync(join(other, '.x.png'), 'hidden');
  mkdirSync(join(other, 'sub', 'deeper'), { recursive: true });
  await writeImage(join(other, 'sub', 'deeper', 'a.png'), uniform(2, 2, 1, 0), 2, 2, 1); // too deep to count
  await rejectsFormat(readImageFolder(other), /received none in /);
});

test('refuses a mixed layout and an empty class subfolder', async () => {
  const mixed = freshDir('mixed');
  await writeImage(join(mixed, 'top.png'), uniform(2, 2, 1, 0), 2, 2, 1);
  mkdirSync(join(mixed, 'cls'));
  await writeImage(join(mixed, 'cls', 'a.png'), uniform(2, 2, 1, 0), 2, 2, 1);
  await rejectsFormat(readImageFolder(mixed), /not both/, /1 image file\(s\) at the top level/, /cls/);

  const gap = freshDir('empty-class');
  mkdirSync(join(gap, 'a'));
  mkdirSync(join(gap, 'b'));
  await writeImage(join(gap, 'a', '1.png'), uniform(2, 2, 1, 0), 2, 2, 1);
  await rejectsFormat(readImageFolder(gap), new RegExp(escapeRe(join(gap, 'b'))), /every class subfolder/);
});

test('refuses a corrupt file, naming it', async () => {
  const dir = freshDir('corrupt');
  mkdirSync(join(dir, 'a'));
  await writeImage(join(dir, 'a', '1.png'), uniform(4, 4, 1, 5), 4, 4, 1);
  writeFileSync(join(dir, 'a', '3.png'), 'this is not a PNG at all');
  const bad = join(dir, 'a', '3.png');
  await rejectsFormat(readImageFolder(dir), new RegExp(`^${escapeRe(bad)}: expected a PNG or JPEG image, received `), /neither the PNG nor the JPEG signature/);

  // A real signature with a truncated body reaches sharp, whose first message line is quoted.
  const png = await encode(grayPattern(16, 16, 0), 16, 16, 1);
  writeFileSync(bad, png.subarray(0, 40));
  await rejectsFormat(
    readImageFolder(dir),
    new RegExp(`^${escapeRe(bad)}: expected a PNG or JPEG image, received a file sharp cannot decode \\(.+\\)$`),
  );

  // An empty file, and a file that decodes as some other format (WebP) under a .png name.
  writeFileSync(bad, '');
  await rejectsFormat(readImageFolder(dir), /received an empty file/);
  writeFileSync(bad, await sharp(Buffer.alloc(12), { raw: { width: 2, height: 2, channels: 3 } }).webp().toBuffer());
  await rejectsFormat(readImageFolder(dir), new RegExp(escapeRe(bad)), /neither the PNG nor the JPEG signature/);
});

test('with several corrupt files, names the first in row order', async () => {
  const dir = freshDir('first-bad');
  // f13 fails slowly (a large PNG cut short, refused only after much of it is
  // decoded), f14 and f17 at once (no signature): the error must still be f13's.
  const side = 1200;
  const gen = new Rng(7);
  const rand = (): number => gen.random();
  const noise = Array.from({ length: side * side }, () => Math.floor(rand() * 256));
  const big = await encode(noise, side, side, 1);
  for (let k = 0; k < 20; k++) {
    const name = join(dir, `f${String(k).padStart(2, '0')}.png`);
    if (k === 13) writeFileSync(name, big.subarray(0, Math.floor(big.length * 0.9)));
    else if (k === 14 || k === 17) writeFileSync(name, 'garbage');
    else await writeImage(name, uniform(6, 6, 1, k), 6, 6, 1);
  }
  for (let i = 0; i < 3; i++) await rejectsFormat(readImageFolder(dir), /f13\.png: .*sharp cannot decode/);
});

test('refuses bad options with ValidationError', async () => {
  const dir = freshDir('options');
  await writeImage(join(dir, 'a.png'), uniform(2, 2, 1, 0), 2, 2, 1);
  const bad: unknown[] = [
    { width: 0, height: 4 },
    { width: -3, height: 4 },
    { width: 1.5, height: 4 },
    { width: 4, height: 4097 },
    { width: Number.NaN, height: 4 },
    { width: 4 },
    { width: '4', height: 4 },
    null,
    7,
  ];
  for (const size of bad) {
    await rejectsValidation(readImageFolder(dir, { size } as never), /^readImageFolder size/);
  }
  await rejectsValidation(readImageFolder(dir, { size: { width: 4, height: 5000 } }), /size\.height: expected an integer from 1 to 4096, received 5000/);
  await rejectsValidation(readImageFolder(dir, { color: 'rgba' } as never), /readImageFolder color/);
  // The largest size is allowed.
  const big = await readImageFolder(dir, { size: { width: 4096, height: 1 } });
  assert.equal(big.data.length, 4096);
});

test('fuzz: mutated PNG and JPEG files resolve with a consistent shape or reject with DataFormatError', async (t) => {
  const w = 16;
  const h = 12;
  const px = Array.from({ length: w * h * 3 }, (_, i) => (i * 53 + (i % 7) * 11) % 256);
  const seeds: Record<'png' | 'jpeg', Buffer> = {
    png: await encode(px, w, h, 3, 'png'),
    jpeg: await encode(px, w, h, 3, 'jpeg'),
  };
  const valid = await encode(uniform(8, 8, 1, 77), 8, 8, 1);
  const gen = new Rng(0x5eed1234);
  const rand = (): number => gen.random();
  const int = (n: number): number => Math.floor(rand() * n);
  let resolved = 0;
  let rejected = 0;
  for (const format of ['png', 'jpeg'] as const) {
    const original = seeds[format];
    for (let m = 0; m < 60; m++) {
      let bytes = Buffer.from(original);
      const kind = m % 3; // 0: flip bytes, 1: truncate, 2: both
      if (kind !== 1) {
        const flips = 1 + int(8);
        for (let f = 0; f < flips; f++) {
          // Spare the signature half of the time so the mutants reach the decoder.
          const from = rand() < 0.5 ? 8 : 0;
          const at = from + int(bytes.length - from);
          bytes[at] = int(256);
        }
      }
      if (kind !== 0) bytes = bytes.subarray(0, int(bytes.length));
      const dir = freshDir(`fuzz-${format}`);
      const ext = format === 'png' ? 'png' : 'jpg';
      writeFileSync(join(dir, `m.${ext}`), bytes);
      if (m % 2 === 1) writeFileSync(join(dir, 'a.png'), valid); // sorts first: the mutant is resized to 8x8
      for (const color of ['gray', 'rgb'] as const) {
        try {
          const out = await readImageFolder(dir, { color });
          assert.equal(out.data.length, out.rows * out.width * out.height * out.channels, `${format} mutant ${m}`);
          assert.equal(out.rows, m % 2 === 1 ? 2 : 1);
          assert.equal(out.channels, color === 'gray' ? 1 : 3);
          for (const v of out.data) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `${format} mutant ${m}: value ${v}`);
          resolved++;
        } catch (err) {
          assert.ok(err instanceof DataFormatError, `${format} mutant ${m} (${color}): expected DataFormatError, got ${String(err)}`);
          assert.ok(!err.message.includes('\n'), 'message is one line');
          assert.match(err.message, /m\.(png|jpg): expected a PNG or JPEG image, received /);
          rejected++;
        }
      }
    }
  }
  t.diagnostic(`${resolved} mutant reads resolved, ${rejected} rejected`);
  assert.equal(resolved + rejected, 240);
  assert.ok(resolved > 0, 'some mutants still decode');
  assert.ok(rejected > 0, 'some mutants are refused');
});
