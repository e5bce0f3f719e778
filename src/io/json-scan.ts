/** Checks on untrusted JSON headers (safetensors, and the JSON in their metadata) that run before anything is decoded or parsed. */

/** A byte count for people, exact in bytes: "16 MiB (16777216 bytes)", "95.4 MiB (100000000 bytes)". */
export function bytesText(n: number | bigint): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const exact = BigInt(n);
  let v = Number(n);
  let k = 0;
  while (k < units.length && v >= 1024) {
    v /= 1024;
    k++;
  }
  if (k === 0) return `${n} bytes`;
  const whole = exact % 1024n ** BigInt(k) === 0n;
  return `${whole ? v : v.toFixed(1)} ${units[k - 1]} (${n} bytes)`;
}

/**
 * One pass over JSON bytes, allocating nothing: how many keys the top-level object has and
 * how many items (keys, array elements, objects, arrays) the text holds in all, so a reader
 * can refuse a header that JSON.parse would turn into millions of objects before parsing it.
 * Exact for well-formed JSON; for malformed JSON only an estimate, which the parse then
 * refuses. Bytes inside strings are skipped (UTF-8 continuation bytes never equal '"' or '\\').
 */
export function scanJson(bytes: Uint8Array): { topKeys: number; items: number } {
  let depth = 0;
  let topKeys = 0;
  let items = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    switch (c) {
      case 0x22: // "
        inString = true;
        break;
      case 0x7b: // {
      case 0x5b: // [
        depth++;
        items++;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        depth--;
        break;
      case 0x3a: // :  one per key
        items++;
        if (depth === 1) topKeys++;
        break;
      case 0x2c: // ,  between members and elements
        items++;
        break;
    }
  }
  return { topKeys, items };
}

/**
 * The most objects, arrays and keys the JSON text of a metadata value (a model's config, a
 * checkpoint's state) may hold: 4096. Those are what make JSON.parse allocate per item; aekit
 * writes under 100 (the long parts of a config, per-column ranges and an anomaly detector's
 * training scores, are arrays of numbers, which count as one each and are bounded by the
 * header's byte limit).
 */
export const MAX_JSON_STRUCTURES = 4096;

/**
 * How many objects, arrays and keys JSON text holds, counted without parsing it (exact for
 * well-formed JSON). The same scan as scanJson, over a string's UTF-16 code units.
 */
export function structuresIn(text: string): number {
  let structures = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b || c === 0x3a) structures++;
  }
  return structures;
}
