/**
 * Text widths from a TrueType font's own advance widths (cmap format 4 and hmtx), so Vega lays
 * out labels, legends and titles for the glyphs resvg will draw instead of guessing 0.8 em a
 * character. Kerning is ignored (a pixel or two on a label).
 */
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  /** Width of `text` at `size` pixels. */
  width(text: string, size: number): number;
}

export function loadFontMetrics(path: string): FontMetrics {
  const buf = readFileSync(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tables = new Map<string, number>();
  const n = dv.getUint16(4);
  for (let i = 0; i < n; i++) {
    const o = 12 + 16 * i;
    tables.set(buf.toString('latin1', o, o + 4), dv.getUint32(o + 8));
  }
  const need = (t: string) => {
    const o = tables.get(t);
    if (o === undefined) throw new Error(`${path}: no ${t} table`);
    return o;
  };
  const unitsPerEm = dv.getUint16(need('head') + 18);
  const numberOfHMetrics = dv.getUint16(need('hhea') + 34);
  const hmtx = need('hmtx');
  const advance = (glyph: number) => dv.getUint16(hmtx + 4 * Math.min(glyph, numberOfHMetrics - 1));
  // The Unicode BMP subtable (platform 3 encoding 1, or platform 0), format 4.
  const cmap = need('cmap');
  let sub = -1;
  for (let i = 0; i < dv.getUint16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = dv.getUint16(rec);
    const encoding = dv.getUint16(rec + 2);
    const off = cmap + dv.getUint32(rec + 4);
    if (dv.getUint16(off) === 4 && ((platform === 3 && encoding === 1) || platform === 0)) sub = off;
  }
  if (sub < 0) throw new Error(`${path}: no format-4 Unicode cmap`);
  const segX2 = dv.getUint16(sub + 6);
  const ends = sub + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const ranges = deltas + segX2;
  const glyphOf = (c: number): number => {
    if (c > 0xffff) return 0;
    for (let s = 0; s < segX2; s += 2) {
      if (c > dv.getUint16(ends + s)) continue;
      const start = dv.getUint16(starts + s);
      if (c < start) return 0;
      const delta = dv.getInt16(deltas + s);
      const ro = dv.getUint16(ranges + s);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = dv.getUint16(ranges + s + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  const em = (c: number) => {
    let w = cache.get(c);
    if (w === undefined) cache.set(c, (w = advance(glyphOf(c)) / unitsPerEm));
    return w;
  };
  return {
    width(text, size) {
      let w = 0;
      for (const ch of text) w += em(ch.codePointAt(0)!);
      return w * size;
    },
  };
}
