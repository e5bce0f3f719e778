import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOutputs } from './outputs.js';

test('writeOutputs: a write cut short leaves part of the new study, never the old study\'s files beside it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-outputs-'));
  try {
    // The old study's three files.
    for (const name of ['a.png', 'b.json', 'c.md']) writeFileSync(join(dir, name), 'old');
    // The new study's second file fails as it is written (a process killed there stops the same way).
    const failing = { name: 'b.json', get data(): string { throw new Error('cut short'); } };
    const png = new Uint8Array([1, 2, 3]);
    assert.throws(() => writeOutputs(dir, { figures: [{ name: 'a.png', png }], files: [failing, { name: 'c.md', data: 'new' }] } as never), /cut short/);
    assert.deepEqual(readFileSync(join(dir, 'a.png')), Buffer.from(png));
    assert.ok(!readdirSync(dir).includes('c.md'), 'the old c.md is gone, not left beside the new a.png');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
