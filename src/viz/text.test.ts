import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matrix } from '../core/matrix.js';
import { labelledRowsFigure, rowsFigure, titled } from './figures.js';
import { raster, type Raster } from './image.js';
import { TEXT_HEIGHT, drawText, glyph, hasGlyph, paste, textWidth, withLeftLabels, withTitle, wrapText } from './text.js';

const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const EXTRAS = ['→', '×', '²', 'λ', '‖', '∂', 'σ', '°', 'µ'];

/** Bounding box of pixels that differ from white, optionally within [x0, x1) × [y0, y1). */
function bbox(r: Raster, x0 = 0, y0 = 0, x1 = r.width, y1 = r.height) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * r.width + x) * 4;
      if (r.data[o] !== 255 || r.data[o + 1] !== 255 || r.data[o + 2] !== 255) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
  }
  return { minX, minY, maxX, maxY, width: maxX - minX + 1, height: maxY - minY + 1, empty: minX === Infinity };
}

function crop(r: Raster, x: number, y: number, w: number, h: number): Raster {
  const out = raster(w, h);
  for (let j = 0; j < h; j++) out.data.set(r.data.subarray(((y + j) * r.width + x) * 4, ((y + j) * r.width + x + w) * 4), j * w * 4);
  return out;
}

/** Random, mostly non-white content so shifted copies can be compared pixel for pixel. */
function noise(w: number, h: number, seed = 7): Raster {
  const r = raster(w, h);
  let s = seed;
  for (let i = 0; i < r.data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    if (i % 4 !== 3) r.data[i] = s >>> 24;
  }
  return r;
}

test('font: every printable ASCII character and every extra has its own lit glyph; space is blank', () => {
  for (const ch of [...PRINTABLE, ...EXTRAS]) {
    assert.ok(hasGlyph(ch), `glyph for ${JSON.stringify(ch)}`);
    const rows = glyph(ch);
    assert.equal(rows.length, TEXT_HEIGHT);
    for (const row of rows) assert.ok(row >= 0 && row < 32, `${JSON.stringify(ch)} fits 5 columns`);
    const lit = rows.some((row) => row !== 0);
    assert.equal(lit, ch !== ' ', `${JSON.stringify(ch)} has ${lit ? 'lit' : 'no'} pixels`);
  }
});

test('font: no two characters share a bitmap, and unknown characters draw as a box unlike any of them', () => {
  const seen = new Map<string, string>();
  for (const ch of [...PRINTABLE, ...EXTRAS]) {
    const key = Array.from(glyph(ch)).join(',');
    assert.ok(!seen.has(key), `${JSON.stringify(ch)} has the same bitmap as ${JSON.stringify(seen.get(key))}`);
    seen.set(key, ch);
  }
  assert.ok(!hasGlyph('€'));
  const box = glyph('€');
  assert.deepEqual(glyph('☃'), box);
  assert.ok(box.some((row) => row !== 0), 'the box is visible');
  assert.ok(!seen.has(Array.from(box).join(',')), 'the box differs from every real glyph');
  assert.equal(textWidth('a€b'), textWidth('abc'));
  // The box is what gets drawn.
  const r = raster(5, 7);
  drawText(r, 0, 0, '€');
  assert.equal(r.data[0], 0, 'top-left corner of the box');
  assert.equal(r.data[(3 * 5 + 2) * 4], 255, 'the box is hollow');
});

test('textWidth: 5 px per glyph and 1 px between glyphs, times scale', () => {
  assert.equal(textWidth(''), 0);
  assert.equal(textWidth('A'), 5);
  assert.equal(textWidth('AB'), 11);
  assert.equal(textWidth('AB', 3), 33);
  assert.equal(textWidth('λ→µ'), 17);
  assert.throws(() => textWidth('A', 0), /text scale: expected a positive integer/);
  assert.throws(() => textWidth('A', 1.5), /text scale/);
});

test('textWidth matches the drawn extent, for every character between two H', () => {
  for (const scale of [1, 2, 3]) {
    for (const ch of [...PRINTABLE, ...EXTRAS, '€']) {
      const text = `H${ch}H`;
      const r = raster(textWidth(text, scale) + 20, TEXT_HEIGHT * scale + 20);
      drawText(r, 10, 10, text, { scale });
      const b = bbox(r);
      assert.equal(b.minX, 10, `left edge of ${text} at scale ${scale}`);
      assert.equal(b.width, textWidth(text, scale), `width of ${text} at scale ${scale}`);
      assert.equal(b.minY, 10);
      assert.equal(b.height, TEXT_HEIGHT * scale, `height of ${text} at scale ${scale}`);
    }
  }
  // A longer line, in colour.
  const text = 'Mean loss 0.0123 → λ×2';
  const r = raster(200, 20);
  drawText(r, 3, 4, text, { scale: 1, color: [200, 10, 10] });
  const b = bbox(r);
  assert.equal(b.minX, 3);
  assert.equal(b.width, textWidth(text));
  assert.equal(b.maxY - b.minY + 1, TEXT_HEIGHT);
  assert.equal(r.data[(4 * 200 + 3) * 4], 200, 'M is lit at its top-left, in the given colour');
});

test('combining marks draw over the previous glyph without taking a column', () => {
  assert.equal(textWidth('x\u0302'), textWidth('x'));
  assert.equal(textWidth('‖x − x\u0302‖²'), textWidth('‖x − x‖²'));
  const plain = raster(5, 7);
  const hat = raster(5, 7);
  drawText(plain, 0, 0, 'x');
  drawText(hat, 0, 0, 'x\u0302');
  assert.notDeepEqual(hat.data, plain.data);
  // x̂ is x plus pixels in the two top rows.
  for (let i = 2 * 5 * 4; i < plain.data.length; i++) assert.equal(hat.data[i], plain.data[i]);
});

test('drawText clips at all four edges: no throw, no write outside, and the visible part is unchanged', () => {
  const W = 13;
  const H = 9;
  const M = 200;
  const text = 'Wg#@';
  for (const scale of [1, 2]) {
    const xs = [-100, -textWidth(text, scale) + 1, -7, -1, 0, 3, W - 8, W - 1, W, 500];
    const ys = [-100, -TEXT_HEIGHT * scale + 1, -3, 0, 2, H - 4, H - 1, H, 500];
    for (const x of xs) {
      for (const y of ys) {
        // The raster's pixels sit inside a larger buffer whose guard bytes must stay untouched.
        const guard = 64;
        const buf = new Uint8Array(W * H * 4 + 2 * guard).fill(77);
        const r: Raster = { width: W, height: H, data: buf.subarray(guard, guard + W * H * 4) };
        r.data.set(raster(W, H).data);
        drawText(r, x, y, text, { scale });
        // Typed arrays drop out-of-range writes silently, so watch every index drawText writes.
        const outside: string[] = [];
        const watched: Raster = {
          width: W,
          height: H,
          data: new Proxy(raster(W, H).data, {
            set(t, key, value) {
              const i = typeof key === 'string' ? Number(key) : NaN;
              if (!(Number.isInteger(i) && i >= 0 && i < t.length)) outside.push(String(key));
              return Reflect.set(t, key, value);
            },
          }),
        };
        drawText(watched, x, y, text, { scale });
        assert.deepEqual(outside, [], `writes outside the raster at (${x}, ${y}) scale ${scale}`);
        for (let i = 0; i < guard; i++) {
          assert.equal(buf[i], 77, `guard before, at (${x}, ${y})`);
          assert.equal(buf[buf.length - 1 - i], 77, `guard after, at (${x}, ${y})`);
        }
        // The same text drawn unclipped on a big raster, then cropped, gives the same pixels
        // (a wrap-around to the next row would not).
        const big = raster(W + 2 * M, H + 2 * M);
        if (x > -M && y > -M && x < W + M && y < H + M) drawText(big, x + M, y + M, text, { scale });
        assert.deepEqual(r.data, crop(big, M, M, W, H).data, `clipped text at (${x}, ${y}) scale ${scale}`);
      }
    }
  }
});

test('paste clips to the destination', () => {
  const dst = raster(6, 5);
  const src = noise(4, 3);
  paste(dst, src, 4, -1);
  // Only src columns 0..1, rows 1..2 land, at dst (4..5, 0..1).
  assert.deepEqual(dst.data.subarray(4 * 4, 6 * 4), src.data.subarray((1 * 4 + 0) * 4, (1 * 4 + 2) * 4));
  assert.deepEqual(crop(dst, 0, 2, 6, 3).data, raster(6, 3).data);
  assert.deepEqual(crop(dst, 0, 0, 4, 2).data, raster(4, 2).data);
  paste(dst, src, -10, -10); // entirely outside: nothing happens
  paste(dst, src, 6, 0);
});

test('withLeftLabels: labels to the left of the content, centred inside their bands; content shifted unchanged', () => {
  const content = noise(30, 60);
  const bands = [
    { label: 'x', y: 0, height: 18 },
    { label: 'noisy σ=0.5', y: 20, height: 18 },
    { label: 'AE', y: 40, height: 20 },
  ];
  for (const scale of [1, 2]) {
    for (const align of ['left', 'right'] as const) {
      const out = withLeftLabels(content, bands, { scale, align });
      const margin = out.width - content.width;
      assert.ok(margin >= textWidth('noisy σ=0.5', scale), 'the margin holds the longest label');
      assert.equal(out.height, content.height);
      assert.deepEqual(crop(out, margin, 0, content.width, content.height).data, content.data, 'content unchanged');
      // Every lit pixel of the margin belongs to a band, and each band's label is whole and centred.
      const all = bbox(out, 0, 0, margin, out.height);
      assert.ok(all.minX >= 0 && all.maxX < margin);
      for (let y = 0; y < out.height; y++) {
        const inBand = bands.some((b) => y >= b.y && y < b.y + b.height);
        if (!inBand) assert.ok(bbox(out, 0, y, margin, y + 1).empty, `no label pixels on row ${y}, between bands`);
      }
      for (const b of bands) {
        const box = bbox(out, 0, b.y, margin, b.y + b.height);
        assert.ok(!box.empty, `label ${b.label} drawn`);
        assert.equal(box.width, textWidth(b.label, scale), `label ${b.label} whole`);
        if (align === 'left') assert.ok(box.minX < margin / 2);
        else assert.ok(box.maxX > margin / 2);
      }
      // 'x' has no ascender, so measure centring with the full text box: top = y + (h - 7s) / 2.
      const ae = bbox(out, 0, 40, margin, 60);
      assert.equal(ae.minY, 40 + Math.floor((20 - TEXT_HEIGHT * scale) / 2));
      assert.equal(ae.height, TEXT_HEIGHT * scale);
    }
  }
  // A label taller than its band is clipped to the raster, not written outside it.
  const tiny = withLeftLabels(noise(4, 3), [{ label: 'Big', y: 0, height: 3 }], { scale: 3 });
  assert.equal(tiny.height, 3);
  assert.equal(tiny.data.length, tiny.width * 3 * 4);
  // No labels: the content comes back as it was.
  assert.deepEqual(withLeftLabels(content, []).data, content.data);
});

test('wrapText: lines fit the width, break between words, and split words only when they must', () => {
  assert.deepEqual(wrapText('a long title', textWidth('a long')), ['a long', 'title']);
  assert.deepEqual(wrapText('a long title', textWidth('a long title')), ['a long title']);
  assert.deepEqual(wrapText('abcdefgh', textWidth('abc')), ['abc', 'def', 'gh']);
  assert.deepEqual(wrapText('one\ntwo', 1000), ['one', 'two']);
  assert.deepEqual(wrapText('ab', 1), ['a', 'b'], 'at least one character per line');
  for (const line of wrapText('Inpainting: mask → corrupted → clean, AE vs OpenCV (Telea, NS)', 100, 2)) {
    assert.ok(textWidth(line, 2) <= 100, line);
  }
});

test('withTitle: a wrapped title above the unchanged content, within its width', () => {
  const content = noise(80, 20);
  const title = 'Reconstructions after twenty epochs of training';
  const out = withTitle(content, title);
  assert.equal(out.width, 80);
  const margin = out.height - content.height;
  assert.deepEqual(crop(out, 0, margin, 80, 20).data, content.data, 'content unchanged');
  const lines = wrapText(title, 80 - 2 * 4);
  assert.ok(lines.length >= 3, 'the title wraps');
  assert.equal(margin, 2 * 4 + lines.length * TEXT_HEIGHT + (lines.length - 1) * 2);
  const b = bbox(out, 0, 0, 80, margin);
  assert.equal(b.minX, 4, 'left-aligned at the padding');
  assert.ok(b.maxX < 80 - 4 + 1);
  assert.equal(b.minY, 4);
  // One line when it fits; a content narrower than a glyph still gets a legible title.
  assert.equal(withTitle(noise(200, 5), 'Short').height, 5 + 2 * 4 + TEXT_HEIGHT);
  const narrow = withTitle(noise(2, 2), 'Hb');
  assert.ok(narrow.width >= 5);
  assert.equal(bbox(narrow, 0, 0, narrow.width, narrow.height - 2).height, 2 * TEXT_HEIGHT + 2);
});

test('labelledRowsFigure: rowsFigure plus a label margin, each label inside its row band', () => {
  const rows = [matrix(4, 6), matrix(4, 6), matrix(2, 6)];
  rows.forEach((m, k) => m.data.forEach((_, i) => (m.data[i] = Math.sin(i * 1.7 + k))));
  const opts = { width: 2, height: 3, range: [-1, 1] as const, zoom: 2 };
  const plain = rowsFigure(rows, opts);
  // 4 columns of 2·2 px pictures with 2 px padding: 2 + 4·6 = 26 wide; each band 2 + 6 + 2 = 10
  // high, with 4 px between bands.
  assert.equal(plain.width, 26);
  assert.equal(plain.height, 3 * 10 + 2 * 4);

  const fig = labelledRowsFigure(rows, ['a', 'bb', 'ccc'], { ...opts, labelScale: 1 });
  // Widest label 'ccc' is 17 px, with 2·1 + 2 = 4 px of padding either side.
  assert.equal(fig.width, 26 + 17 + 2 * 4);
  assert.equal(fig.height, 38);
  const margin = fig.width - 26;
  assert.deepEqual(crop(fig, margin, 0, 26, 38).data, plain.data, 'the pictures are rowsFigure, shifted');
  for (const [i, label] of ['a', 'bb', 'ccc'].entries()) {
    const b = bbox(fig, 0, i * 14, margin, i * 14 + 10);
    assert.equal(b.width, textWidth(label), `label ${label} in band ${i}`);
  }
  assert.ok(bbox(fig, 0, 10, margin, 14).empty, 'nothing between bands');

  // At zoom 2 labels default to scale 2: 'ccc' is 34 px, padded 6 px either side.
  const big = labelledRowsFigure(rows, ['a', 'bb', 'ccc'], opts);
  assert.equal(big.width, 26 + 34 + 2 * 6);
  assert.equal(big.height, 38);
  assert.throws(() => labelledRowsFigure(rows, ['a', 'b'], opts), /row labels: expected one per row \(3\), received 2/);

  const t = titled(fig, 'Three rows');
  assert.equal(t.width, fig.width);
  assert.deepEqual(crop(t, 0, t.height - fig.height, fig.width, fig.height).data, fig.data);
});
