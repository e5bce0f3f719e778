import { ValidationError, expected } from '../core/errors.js';
import { raster, type Raster } from './image.js';

/**
 * A hand-made 5x7 bitmap font, so figures can carry labels without a font file.
 *
 * Encoding: each glyph is a string of 7 characters, one per pixel row from top to bottom.
 * Each character is a base-32 digit (0-9, a-v) holding that row's 5-bit mask, the most
 * significant bit being the leftmost column. For example 'A' is 'ehhvhhh':
 *
 *   e = 01110  .###.
 *   h = 10001  #...#
 *   h = 10001  #...#
 *   v = 11111  #####
 *   h = 10001  #...#   (and twice more)
 *
 * Capitals and digits stand on row 6; lower case has a 5-row x-height (rows 2..6). There is
 * no row below the baseline, so g, p, q and y squeeze a 3-row body onto rows 2..4 (keeping
 * the x-height's top line) with the descender on rows 5..6.
 */
const ASCII_GLYPHS: readonly string[] = [
  '0000000', '4444404', 'aaa0000', 'aavavaa', '4fke5u4', 'op248j3', 'cik8lid', '4440000', //   ! " # $ % & '
  '2488842', '8422248', '04lel40', '044v440', '0000c48', '000e000', '00000cc', '01248g0', // ( ) * + , - . /
  'ehjlphe', '4c4444e', 'eh1248v', 'v2421he', '26aiv22', 'vgu11he', '68guhhe', 'v124888', // 0 1 2 3 4 5 6 7
  'ehhehhe', 'ehhf12c', '0cc0cc0', '0cc0c48', '248g842', '00v0v00', '8421248', 'eh12404', // 8 9 : ; < = > ?
  'eh1dlle', 'ehhvhhh', 'uhhuhhu', 'ehggghe', 'sihhhis', 'vgguggv', 'vgguggg', 'ehgnhhf', // @ A B C D E F G
  'hhhvhhh', 'e44444e', '72222ic', 'hikokih', 'ggggggv', 'hrllhhh', 'hhpljhh', 'ehhhhhe', // H I J K L M N O
  'uhhuggg', 'ehhhlid', 'uhhukih', 'fgge11u', 'v444444', 'hhhhhhe', 'hhhhha4', 'hhhllla', // P Q R S T U V W
  'hha4ahh', 'hha4444', 'v1248gv', 'e88888e', '0g84210', 'e22222e', '4ah0000', '000000v', // X Y Z [ \ ] ^ _
  '8400000', '00e1fhf', 'ggmphhu', '00egghe', '11djhhf', '00ehvge', '698s888', '00fhf1e', // ` a b c d e f g
  'ggmphhh', '40c444e', '20622ic', 'ggikoki', 'c44444e', '00qllhh', '00mphhh', '00ehhhe', // h i j k l m n o
  '00uhugg', '00fhf11', '00mpggg', '00ege1u', '88s8896', '00hhhjd', '00hhha4', '00hhlla', // p q r s t u v w
  '00ha4ah', '00hhf1e', '00v248v', '2448442', '4444444', '8442448', '008l200', //            x y z { | } ~
];

/** Glyphs beyond ASCII that the figures need, in the same encoding. */
const EXTRA_GLYPHS: ReadonlyArray<readonly [string, string]> = [
  ['→', '042v240'],
  ['×', '0ha4ah0'],
  ['²', 'c24e000'],
  ['λ', 'o44aahh'],
  ['‖', 'aaaaaaa'],
  ['∂', 'c21fhhe'],
  ['σ', '00fihhe'],
  ['°', 'ciic000'],
  ['µ', '00iiitg'], // U+00B5 MICRO SIGN; U+03BC GREEK SMALL LETTER MU is drawn the same
  ['−', '000v000'], // U+2212 MINUS SIGN, wider than the hyphen
];

/**
 * Combining marks, drawn over the previous glyph without taking a column of their own
 * (x̂ and x̄ for reconstructions and means). They sit in rows 0..1, above lower case.
 */
const COMBINING_GLYPHS: ReadonlyArray<readonly [string, string]> = [
  ['\u0302', '4a00000'], // circumflex (hat)
  ['\u0304', 'e000000'], // macron (bar)
  ['\u0303', '9m00000'], // tilde
  ['\u0307', '4000000'], // dot
];

/** What an unknown character is drawn as: an outlined box. */
const BOX_GLYPH = 'vhhhhhv';

export const GLYPH_WIDTH = 5;
/** Height of a line of text in pixels at scale 1. */
export const TEXT_HEIGHT = 7;
/** Blank columns between neighbouring glyphs at scale 1. */
export const GLYPH_SPACING = 1;

function decode(code: string): Uint8Array {
  return Uint8Array.from(code, (c) => parseInt(c, 32));
}

const GLYPHS = new Map<string, Uint8Array>();
ASCII_GLYPHS.forEach((code, i) => GLYPHS.set(String.fromCharCode(32 + i), decode(code)));
for (const [ch, code] of EXTRA_GLYPHS) GLYPHS.set(ch, decode(code));
GLYPHS.set('\u03bc', GLYPHS.get('µ')!);
const COMBINING = new Map(COMBINING_GLYPHS.map(([ch, code]) => [ch, decode(code)] as const));
const BOX = decode(BOX_GLYPH);

/**
 * The 7 row masks of a character's glyph (bit 4 = leftmost column), or the box for a
 * character the font lacks. Whitespace other than a space (tab, newline) draws as a space.
 */
export function glyph(ch: string): Uint8Array {
  return GLYPHS.get(ch) ?? (/^\s$/u.test(ch) ? GLYPHS.get(' ')! : BOX);
}

/** Whether the font has a glyph of its own for `ch` (rather than the box). */
export function hasGlyph(ch: string): boolean {
  return GLYPHS.has(ch) || COMBINING.has(ch);
}

function checkScale(scale: number): number {
  if (!Number.isInteger(scale) || scale < 1) throw new ValidationError(expected('text scale', 'a positive integer', scale));
  return scale;
}

/**
 * `text` split into the characters that each take one glyph cell: one per code point, except
 * that a known combining mark stays with the character before it (and is drawn over it).
 */
function units(text: string): string[] {
  const out: string[] = [];
  for (const ch of text) {
    if (COMBINING.has(ch) && out.length > 0) out[out.length - 1] += ch;
    else out.push(ch);
  }
  return out;
}

/** The 7 row masks drawn for one unit of `units()`. */
function unitGlyph(unit: string): Uint8Array {
  const [base, ...marks] = Array.from(unit);
  let rows = COMBINING.get(base!) ?? glyph(base!);
  for (const m of marks) {
    const mark = COMBINING.get(m)!;
    rows = rows.map((row, i) => row | mark[i]!);
  }
  return rows;
}

/** Width in pixels of `text` drawn on one line: 5 px per glyph, 1 px between glyphs, times `scale`. */
export function textWidth(text: string, scale = 1): number {
  checkScale(scale);
  const n = units(text).length;
  return n === 0 ? 0 : scale * (n * (GLYPH_WIDTH + GLYPH_SPACING) - GLYPH_SPACING);
}

export interface TextOptions {
  /** Each font pixel is drawn as a scale×scale block (a positive integer; default 1). */
  scale?: number;
  /** RGB of the lit pixels (default black). */
  color?: readonly [number, number, number];
}

/**
 * Draws `text` on one line with its top-left corner at (x, y). Only lit font pixels are
 * written (the background shows through); anything falling outside `r` is clipped.
 */
export function drawText(r: Raster, x: number, y: number, text: string, opts: TextOptions = {}): void {
  const scale = checkScale(opts.scale ?? 1);
  const [red, green, blue] = opts.color ?? [0, 0, 0];
  let gx = Math.round(x);
  const y0 = Math.round(y);
  for (const rows of units(text).map(unitGlyph)) {
    for (let row = 0; row < TEXT_HEIGHT; row++) {
      const mask = rows[row]!;
      if (mask === 0) continue;
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (!(mask & (1 << (GLYPH_WIDTH - 1 - col)))) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y0 + row * scale + dy;
          if (py < 0 || py >= r.height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = gx + col * scale + dx;
            if (px < 0 || px >= r.width) continue;
            const o = (py * r.width + px) * 4;
            r.data[o] = red;
            r.data[o + 1] = green;
            r.data[o + 2] = blue;
            r.data[o + 3] = 255;
          }
        }
      }
    }
    gx += (GLYPH_WIDTH + GLYPH_SPACING) * scale;
  }
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst`. */
export function paste(dst: Raster, src: Raster, x: number, y: number): void {
  const x0 = Math.max(0, x);
  const x1 = Math.min(dst.width, x + src.width);
  if (x1 <= x0) return;
  for (let sy = Math.max(0, -y); sy < src.height && y + sy < dst.height; sy++) {
    const from = (sy * src.width + (x0 - x)) * 4;
    dst.data.set(src.data.subarray(from, from + (x1 - x0) * 4), ((y + sy) * dst.width + x0) * 4);
  }
}

export interface LabelOptions extends TextOptions {
  /** Grey level of the added margin (default 255, white). */
  background?: number;
  /** Blank pixels on either side of the labels (default 2·scale + 2). */
  pad?: number;
  /** Labels flush right against the content (default) or flush left at the figure's edge. */
  align?: 'left' | 'right';
}

/**
 * `content` with a margin on its left wide enough for the longest label, each label
 * centred vertically on its band [y, y + height) of the content. The content's pixels are
 * copied unchanged, shifted right by the margin.
 */
export function withLeftLabels(content: Raster, rows: ReadonlyArray<{ label: string; y: number; height: number }>, opts: LabelOptions = {}): Raster {
  const scale = checkScale(opts.scale ?? 1);
  const pad = opts.pad ?? 2 * scale + 2;
  const widest = Math.max(0, ...rows.map((r) => textWidth(r.label, scale)));
  const margin = widest === 0 ? 0 : widest + 2 * pad;
  const out = raster(margin + content.width, content.height, opts.background ?? 255);
  paste(out, content, margin, 0);
  for (const { label, y, height } of rows) {
    const w = textWidth(label, scale);
    const x = opts.align === 'left' ? pad : margin - pad - w;
    drawText(out, x, y + Math.floor((height - TEXT_HEIGHT * scale) / 2), label, opts);
  }
  return out;
}

/**
 * Splits `text` into lines no wider than `maxWidth` pixels: at newlines, then between words,
 * and inside a word only when the word alone is too wide. Every line holds at least one character.
 */
export function wrapText(text: string, maxWidth: number, scale = 1): string[] {
  const perLine = Math.max(1, Math.floor((maxWidth / scale + GLYPH_SPACING) / (GLYPH_WIDTH + GLYPH_SPACING)));
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line: string[] = [];
    for (const word of paragraph.split(' ').map(units)) {
      // Fits after a space on the current line?
      if (line.length > 0 && line.length + 1 + word.length <= perLine) {
        line.push(' ', ...word);
        continue;
      }
      if (line.length > 0) lines.push(line.join(''));
      line = [];
      let rest = word;
      while (rest.length > perLine) {
        lines.push(rest.slice(0, perLine).join(''));
        rest = rest.slice(perLine);
      }
      line = rest;
    }
    lines.push(line.join(''));
  }
  return lines;
}

export interface TitleOptions extends TextOptions {
  /** Grey level of the added margin (default 255, white). */
  background?: number;
  /** Blank pixels around the title (default 2·scale + 2). */
  pad?: number;
  /** Blank pixels between wrapped lines (default 2·scale). */
  lineGap?: number;
}

/**
 * `content` under a top margin holding `title`, left-aligned and wrapped to the content's
 * width (a '\n' in the title forces a break). The content's pixels are copied unchanged,
 * shifted down by the margin.
 */
export function withTitle(content: Raster, title: string, opts: TitleOptions = {}): Raster {
  const scale = checkScale(opts.scale ?? 1);
  const pad = opts.pad ?? 2 * scale + 2;
  const lineGap = opts.lineGap ?? 2 * scale;
  const width = Math.max(content.width, GLYPH_WIDTH * scale + 2 * pad);
  const lines = wrapText(title, width - 2 * pad, scale);
  const lineHeight = TEXT_HEIGHT * scale;
  const margin = 2 * pad + lines.length * lineHeight + (lines.length - 1) * lineGap;
  const out = raster(width, margin + content.height, opts.background ?? 255);
  paste(out, content, 0, margin);
  lines.forEach((line, i) => drawText(out, pad, pad + i * (lineHeight + lineGap), line, opts));
  return out;
}
