import { readdirSync, statSync, type Dirent } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { DataFormatError, ValidationError, expected } from '../core/errors.js';

/**
 * Reads a folder of PNG or JPEG images into rows of raw pixel values, decoded,
 * colour-converted and resized by `sharp` (libvips).
 *
 * The conventions follow torchvision:
 * - `torchvision.datasets.ImageFolder`: one subfolder per class, the classes are
 *   the subfolder names sorted, and a class's index is its position in that list.
 * - `torchvision.transforms.ToTensor`: an RGB image becomes a (C, H, W) block, one
 *   full H×W plane per channel. Unlike ToTensor the values are NOT divided by 255:
 *   they stay raw 0..255 (scale them with the library's scaling module).
 */

export type ImageColor = 'gray' | 'rgb';

export interface ImageFolderOptions {
  /** Output size; default: the first image's size (in file order). */
  size?: { width: number; height: number };
  /** Default 'gray'. */
  color?: ImageColor;
}

export interface ImageFolder {
  /** n rows of width*height*channels raw values 0..255 as float32; RGB rows are channel-major (C,H,W), as torchvision's ToTensor lays them out. */
  data: Float32Array;
  rows: number;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Class index per image when the folder has one subfolder per class (torchvision ImageFolder: classes are the subfolder names sorted, index = position), else null. */
  labels: Int32Array | null;
  classes: string[] | null;
  /** Paths relative to the folder, in the order of the rows (sorted, class subfolders first by class then file name). */
  files: string[];
}

/** File-name endings read as images, matched case-insensitively ('.PNG' and '.Jpg' count). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.png', '.jpg', '.jpeg']);

/** Largest `size.width` / `size.height` accepted, in pixels. */
const MAX_SIDE = 4096;

/**
 * Decompression-bomb guard handed to sharp as `limitInputPixels`: an input whose
 * header declares more than this many pixels (width × height) is refused before
 * it is decoded.
 */
const MAX_INPUT_PIXELS = 100_000_000;

/** Files decoded at the same time (open handles and decode buffers are bounded by this). */
const CONCURRENCY = 8;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff] as const;

/** Code-unit order, the same on every machine and locale (not localeCompare). */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isImageName(name: string): boolean {
  return !name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

function formatError(what: string, rule: string, received: string): DataFormatError {
  return new DataFormatError(`${what}: expected ${rule}, received ${received}`);
}

/** The first line of an error's message (sharp's messages can span lines). */
function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n').map((s) => s.trim()).find((s) => s !== '') ?? 'no message';
  return line.replace(/[:\s]+$/, '');
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' ? 'ENOENT (no such file or folder)'
    : code === 'EACCES' ? 'EACCES (permission denied)'
    : code === 'ENOTDIR' ? 'ENOTDIR (a path through a file)'
    : typeof code === 'string' ? code
    : firstLine(err);
}

/** Whether a directory entry is a file / folder, following symbolic links (as torchvision does); false for broken links. */
function entryKind(dir: string, entry: Dirent): 'file' | 'dir' | 'other' {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) {
    try {
      const st = statSync(join(dir, entry.name));
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
    } catch {
      return 'other';
    }
  }
  return 'other';
}

interface Listing {
  /** Image file names directly in the folder, sorted. */
  images: string[];
  /** Non-hidden subfolder names, sorted. */
  dirs: string[];
}

function listFolder(dir: string): Listing {
  const images: string[] = [];
  const dirs: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const kind = entryKind(dir, entry);
    if (kind === 'file' && isImageName(entry.name)) images.push(entry.name);
    else if (kind === 'dir') dirs.push(entry.name);
  }
  images.sort(byCodeUnit);
  dirs.sort(byCodeUnit);
  return { images, dirs };
}

function imagesIn(dir: string): string[] {
  return listFolder(dir).images;
}

/**
 * True when `dir` directly holds image files, or subfolders that do (the layout
 * readImageFolder takes). Synchronous and cheap: readdir only, nothing is decoded.
 * It does not check the layout rules (a mixed layout or a class subfolder with no
 * images still gives true, and readImageFolder then says what is wrong). Never
 * throws: false for a missing or unreadable path, or a file.
 */
export function looksLikeImageFolder(dir: string): boolean {
  try {
    const top = listFolder(dir);
    if (top.images.length > 0) return true;
    for (const sub of top.dirs) {
      try {
        if (imagesIn(join(dir, sub)).length > 0) return true;
      } catch {
        // an unreadable subfolder does not count
      }
    }
    return false;
  } catch {
    return false;
  }
}

function checkSide(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_SIDE) {
    throw new ValidationError(expected(`readImageFolder size.${name}`, `an integer from 1 to ${MAX_SIDE}`, value));
  }
  return value;
}

function checkOptions(opts: ImageFolderOptions | undefined): { size: { width: number; height: number } | null; color: ImageColor } {
  if (opts === undefined || opts === null) return { size: null, color: 'gray' };
  if (typeof opts !== 'object') throw new ValidationError(expected('readImageFolder options', 'an object', opts));
  const color = opts.color ?? 'gray';
  if (color !== 'gray' && color !== 'rgb') {
    throw new ValidationError(expected('readImageFolder color', "'gray' or 'rgb'", color));
  }
  if (opts.size === undefined) return { size: null, color };
  if (typeof opts.size !== 'object' || opts.size === null) {
    throw new ValidationError(expected('readImageFolder size', '{ width, height } in pixels', opts.size));
  }
  return { size: { width: checkSide('width', opts.size.width), height: checkSide('height', opts.size.height) }, color };
}

function hexStart(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  const shown = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(' ');
  return `a file starting ${shown}, neither the PNG nor the JPEG signature`;
}

function startsWith(bytes: Uint8Array, sig: readonly number[]): boolean {
  return bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);
}

interface Decoded {
  pixels: Buffer;
  width: number;
  height: number;
}

/**
 * Decodes one file to `channels` interleaved 8-bit values per pixel, resized to
 * `target` when given and different from the file's own size. Every failure is a
 * DataFormatError naming `shown` (the path as the caller spelled it).
 */
async function decodeOne(path: string, shown: string, color: ImageColor, target: { width: number; height: number } | null): Promise<Decoded> {
  const rule = 'a PNG or JPEG image';
  let bytes: Buffer;
  try {
    // Bytes, not the path: the signature can be checked before any decoder runs, and
    // a file rewritten in place cannot come back from a libvips cache keyed by name
    // (which some sharp versions had).
    bytes = await readFile(path);
  } catch (err) {
    throw formatError(shown, 'a readable PNG or JPEG file', fsReason(err));
  }
  // Only the PNG and JPEG decoders ever see the bytes (sharp would otherwise take
  // WebP, GIF, TIFF, SVG... under any name). A .jpg holding a PNG is read as a PNG.
  if (!startsWith(bytes, PNG_SIGNATURE) && !startsWith(bytes, JPEG_SIGNATURE)) {
    throw formatError(shown, rule, hexStart(bytes));
  }
  const cannot = (err: unknown): DataFormatError =>
    formatError(shown, rule, `a file sharp cannot decode (${firstLine(err)})`);
  try {
    const img = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', sequentialRead: true });
    const meta = await img.metadata();
    if (meta.format !== 'png' && meta.format !== 'jpeg') throw new Error(`decoded as ${String(meta.format)}`);
    const w = meta.width;
    const h = meta.height;
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new Error('no image size in the header');
    // Alpha is dropped, not composited: the colour under a transparent pixel is
    // kept, as PIL's convert('RGB') / convert('L') in torchvision's loader does.
    img.removeAlpha();
    // Grey is taken from sRGB by PIL's convert('L') formula below, not libvips' linear-light luminance.
    img.toColourspace('srgb');
    const outW = target?.width ?? w;
    const outH = target?.height ?? h;
    if (outW !== w || outH !== h) img.resize(outW, outH, { fit: 'fill', kernel: 'lanczos3' });
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== outW || info.height !== outH || data.length !== outW * outH * 3) {
      throw new Error(`decoded to ${info.width}x${info.height}x${info.channels} (${data.length} bytes), not ${outW}x${outH}x3`);
    }
    return { pixels: color === 'gray' ? pilLuma(data) : data, width: outW, height: outH };
  } catch (err) {
    throw cannot(err);
  }
}

/**
 * sRGB → grey as PIL's Image.convert('L') computes it (ITU-R 601-2 luma on the encoded
 * values, L = (R·299 + G·587 + B·114) / 1000, in PIL's 16-bit fixed point with rounding),
 * so pictures read here match torchvision's grey loaders; a grey source comes out exact.
 */
function pilLuma(rgb: Buffer): Buffer {
  const out = Buffer.alloc(rgb.length / 3);
  for (let p = 0; p < out.length; p++) out[p] = (rgb[3 * p]! * 19595 + rgb[3 * p + 1]! * 38470 + rgb[3 * p + 2]! * 7471 + 0x8000) >> 16;
  return out;
}

/** Writes one decoded image as a float32 row at `offset`: HWC interleaved in, CHW planes out. */
function writeRow(out: Float32Array, offset: number, pixels: Buffer, channels: 1 | 3): void {
  if (channels === 1) {
    for (let i = 0; i < pixels.length; i++) out[offset + i] = pixels[i]!;
    return;
  }
  const plane = pixels.length / 3;
  for (let p = 0; p < plane; p++) {
    out[offset + p] = pixels[3 * p]!;
    out[offset + plane + p] = pixels[3 * p + 1]!;
    out[offset + 2 * plane + p] = pixels[3 * p + 2]!;
  }
}

/**
 * The files readImageFolder reads, in row order, with their classes: the layout rules alone,
 * without decoding (sync; the data layer hashes exactly these files). Throws DataFormatError
 * for a missing folder, a mixed layout, an empty class subfolder, or no images at all.
 */
export function listImageFolder(dir: string): { files: string[]; classes: string[] | null; labels: number[] | null } {
  const folderRule = 'a folder of PNG or JPEG images';
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw formatError(dir, folderRule, fsReason(err));
  }
  if (!isDir) throw formatError(dir, folderRule, 'a file, not a folder');

  let top: Listing;
  try {
    top = listFolder(dir);
  } catch (err) {
    throw formatError(dir, folderRule, fsReason(err));
  }
  const perClass: { name: string; images: string[] }[] = [];
  for (const sub of top.dirs) {
    let images: string[];
    try {
      images = imagesIn(join(dir, sub));
    } catch (err) {
      throw formatError(join(dir, sub), folderRule, fsReason(err));
    }
    perClass.push({ name: sub, images });
  }
  const withImages = perClass.filter((c) => c.images.length > 0);

  let files: string[];
  let classes: string[] | null = null;
  let labelList: number[] | null = null;
  if (top.images.length > 0) {
    if (withImages.length > 0) {
      throw formatError(
        dir,
        'images either directly in the folder or in one subfolder per class, not both',
        `${top.images.length} image file(s) at the top level and more in subfolder(s) ${withImages.slice(0, 3).map((c) => c.name).join(', ')}${withImages.length > 3 ? ', ...' : ''}`,
      );
    }
    files = top.images; // subfolders without images are ignored in the flat layout
  } else if (withImages.length > 0) {
    // Every subfolder is a class (torchvision counts them all), so an empty one is an error
    // rather than silently skipped, which would shift the class indices.
    const empty = perClass.find((c) => c.images.length === 0);
    if (empty !== undefined) {
      throw formatError(join(dir, empty.name), 'at least one PNG or JPEG file in every class subfolder', 'none');
    }
    classes = perClass.map((c) => c.name);
    files = [];
    labelList = [];
    perClass.forEach((c, index) => {
      for (const name of c.images) {
        files.push(`${c.name}/${name}`);
        labelList!.push(index);
      }
    });
  } else {
    throw formatError(dir, 'PNG or JPEG files (or one subfolder of them per class)', `none in ${dir}`);
  }

  return { files, classes, labels: labelList };
}

/**
 * Reads every PNG or JPEG file in `dir` into one float32 block, one row per image.
 *
 * Layout (torchvision `ImageFolder`): either the images lie directly in `dir` (then
 * `labels` and `classes` are null), or `dir` holds one subfolder per class with the
 * images inside (then `classes` is the subfolder names sorted and `labels[i]` is
 * the index of row i's class in that list). Hidden entries (names starting with
 * '.') and files without a .png/.jpg/.jpeg ending (any case) are skipped; folders
 * nested deeper than one level are not read. Names sort by UTF-16 code unit, so
 * the row order is the same on every machine.
 *
 * Pixels (torchvision `ToTensor`, without its division by 255): each row holds
 * `width * height * channels` values 0..255; gray rows are H×W row-major, RGB rows
 * are three H×W planes R, G, B (C, H, W). Decoding and resizing are sharp's, to sRGB
 * (`.toColourspace('srgb')`; grey sources repeat in all three planes); 'gray' is then
 * PIL's convert('L') luma, (R·299 + G·587 + B·114) / 1000, as torchvision's grey loaders get.
 * Alpha is removed, not composited over a background. EXIF orientation is not
 * applied (as with PIL's plain open). 16-bit PNGs come out scaled to 0..255.
 *
 * Size: `opts.size`, else the first file's size (in row order). An image of another
 * size is stretched to it with `resize(width, height, { fit: 'fill' })` and the
 * 'lanczos3' kernel (sharp's default); an image already at the size is not resampled,
 * so PNG pixels come out exactly.
 *
 * Decoding runs 8 files at a time; rows keep the sorted file order whatever order
 * the decodes finish in. Inputs whose header declares more than 100 million pixels
 * are refused (sharp's `limitInputPixels`, a decompression-bomb guard); truncated or
 * erroring files are refused (sharp's `failOn: 'error'`), files with decoder
 * warnings only are read.
 *
 * @throws ValidationError when `opts.size` is not two integers from 1 to 4096, or
 *   `opts.color` is not 'gray' or 'rgb'.
 * @throws DataFormatError when `dir` is missing or not a folder; when it holds no
 *   image (`expected PNG or JPEG files (or one subfolder of them per class),
 *   received none in <dir>`); when it mixes top-level images with class subfolders;
 *   when a class subfolder holds no image; when a file cannot be read or decoded
 *   (naming the file, the first in row order, and sharp's first message line); or
 *   when the block would be too large to allocate.
 */
export async function readImageFolder(dir: string, opts?: ImageFolderOptions): Promise<ImageFolder> {
  if (typeof dir !== 'string' || dir === '') {
    throw new ValidationError(expected('readImageFolder dir', 'a folder path', dir));
  }
  const { size, color } = checkOptions(opts);
  const channels: 1 | 3 = color === 'gray' ? 1 : 3;
  const { files, classes, labels: labelList } = listImageFolder(dir);

  const rows = files.length;
  const paths = files.map((f) => join(dir, f));
  const first = await decodeOne(paths[0]!, paths[0]!, color, size);
  const width = first.width;
  const height = first.height;
  const rowLength = width * height * channels;
  let data: Float32Array;
  try {
    data = new Float32Array(rows * rowLength);
  } catch (err) {
    throw formatError(
      dir,
      'images that fit in memory as one float32 block',
      `${rows} images of ${width}x${height}x${channels} = ${rows * rowLength} values (${firstLine(err)})`,
    );
  }
  writeRow(data, 0, first.pixels, channels);

  // A pool of workers taking the next index in order. After a failure at index i no
  // index above i is started, and every index below i was already started, so the
  // error reported is the first bad file in row order, whatever finishes first.
  let next = 1;
  let failedAt = Infinity;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < rows && next < failedAt) {
      const i = next++;
      try {
        const img = await decodeOne(paths[i]!, paths[i]!, color, { width, height });
        writeRow(data, i * rowLength, img.pixels, channels);
      } catch (err) {
        if (i < failedAt) {
          failedAt = i;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(0, rows - 1)) }, worker));
  if (failure !== null) throw failure;

  return {
    data,
    rows,
    width,
    height,
    channels,
    labels: labelList === null ? null : Int32Array.from(labelList),
    classes,
    files,
  };
}
