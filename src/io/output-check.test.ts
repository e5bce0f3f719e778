import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { lockPathFor } from './lock.js';
import { checkInputs, checkOutputs, claimOutputs, type OutputSpec } from './output-check.js';
import { writeFolder } from './outputs.js';

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'aekit-output-check-'));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Throws a one-line ValidationError matching `pattern`. */
function refuses(spec: OutputSpec, pattern: RegExp, check: (s: OutputSpec) => unknown = claimOutputs): void {
  assert.throws(
    () => check(spec),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.ok(!e.message.includes('\n'), e.message);
      assert.ok(!/\.tmp\b/.test(e.message), e.message);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('claimOutputs, a file: extension, kind, existing only with force, missing parents made and removed again on release', () => {
  withDir((dir) => {
    refuses({ path: join(dir, 'a.jpg'), kind: 'file', ext: '.png' }, /^--out: expected a path ending in \.png, received ".*a\.jpg"$/);
    refuses({ path: join(dir, 'a.txt'), kind: 'file', ext: ['.png', '.csv'] }, /ending in \.png or \.csv/);
    mkdirSync(join(dir, 'd.png'));
    refuses({ path: join(dir, 'd.png'), kind: 'file', ext: '.png', force: true }, /^--out: expected a file path, received the directory ".*d\.png"$/);
    refuses({ path: '/dev/null', kind: 'file', force: true }, /^--out: expected a regular file path, received "\/dev\/null", which is a device$/);
    writeFileSync(join(dir, 'old.png'), 'old');
    refuses({ path: join(dir, 'old.png'), kind: 'file', ext: '.png' }, /pass --force to replace it\), received the existing file ".*old\.png"$/);
    claimOutputs({ path: join(dir, 'old.png'), kind: 'file', ext: '.png', force: true }).release();
    // Missing parents: made for the lock (beside the file), removed on release while empty.
    const deep = join(dir, 'x', 'y', 'z.png');
    const claim = claimOutputs({ path: deep, kind: 'file', ext: '.png' });
    assert.ok(existsSync(join(dir, 'x', 'y')));
    assert.equal(claim.lock.path, lockPathFor(deep));
    claim.release();
    assert.ok(!existsSync(join(dir, 'x')));
  });
});

test('claimOutputs: a path under a file, or where nothing can be made (/proc, even for root), is refused in one line', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'f'), 'a file');
    refuses({ path: join(dir, 'f', 'a', 'b.png'), kind: 'file', ext: '.png' }, /^--out: expected a path whose folders exist or can be made, received ".*f\/a\/b\.png", under the file ".*f"$/);
    refuses({ path: join(dir, 'f', 'out'), kind: 'folder', force: true }, /under the file ".*f"$/, checkOutputs);
    refuses({ path: '/proc/aekit-nowhere/out', kind: 'folder' }, /^--out: expected a path (whose folder exists or can be created|in a folder this user can write)/);
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'a file');
  });
});

test('claimOutputs: a folder this user cannot write is refused before anything is made', { skip: process.getuid?.() === 0 ? 'root writes any folder whatever its mode' : false }, () => {
  withDir((dir) => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    try {
      refuses({ path: join(ro, 'new', 'out'), kind: 'folder' }, /^--out: expected a path in a folder this user can write, received ".*ro\/new\/out" \(EACCES for the folder ".*ro"\)$/);
      assert.deepEqual(readdirSync(ro), []);
    } finally {
      chmodSync(ro, 0o755);
    }
  });
});

test('claimOutputs: an output that is an input, by path, symbolic link or hard link, is refused; so is a folder whose files would replace one', () => {
  withDir((dir) => {
    const model = join(dir, 'm.safetensors');
    writeFileSync(model, 'model bytes');
    symlinkSync(model, join(dir, 'link.safetensors'));
    linkSync(model, join(dir, 'hard.safetensors'));
    const inputs = [{ flag: '--data', path: 'mnist' }, { flag: '--in', path: undefined }, { flag: '--model', path: model }];
    for (const out of ['m.safetensors', 'link.safetensors', 'hard.safetensors']) {
      refuses({ path: join(dir, out), kind: 'file', ext: '.safetensors', force: true, inputs }, /^--out: expected a path other than the input --model ".*m\.safetensors", received the same file$/);
    }
    // The input named through a link, the output by its own path.
    refuses({ path: model, kind: 'file', force: true, inputs: [{ flag: '--model', path: join(dir, 'link.safetensors') }] }, /other than the input --model ".*link\.safetensors"/);
    // A folder output: one of its files is the input, directly or through links.
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'energy.json'), 'model bytes');
    linkSync(join(out, 'energy.json'), join(dir, 'hard-model'));
    symlinkSync(join(out, 'energy.json'), join(dir, 'soft-model'));
    for (const input of [join(out, 'energy.json'), join(dir, 'hard-model'), join(dir, 'soft-model')]) {
      refuses({ path: out, kind: 'folder', files: ['energy.json', 'energy.md'], force: true, inputs: [{ flag: '--model', path: input }] }, /^--out: expected a folder whose files are not inputs, received ".*out", whose energy\.json is the input --model ".*"$/);
    }
    // A name the command owns by pattern counts too.
    refuses({ path: out, kind: 'folder', also: (n) => n.endsWith('.json'), force: true, inputs: [{ flag: '--data', path: join(dir, 'hard-model') }] }, /whose energy\.json is the input --data/);
    // Other names in the folder are not the command's: fine.
    claimOutputs({ path: out, kind: 'folder', files: ['energy.md'], force: true, inputs: [{ flag: '--model', path: join(out, 'energy.json') }] }).release();
    assert.equal(readFileSync(join(out, 'energy.json'), 'utf8'), 'model bytes');
  });
});

test('claimOutputs: nothing is written into an input folder; inputs known later are checked with checkInputs', () => {
  withDir((dir) => {
    const data = join(dir, 'images');
    mkdirSync(data);
    symlinkSync(data, join(dir, 'images-link'));
    refuses({ path: data, kind: 'folder', files: ['model.safetensors'], inputs: [{ flag: '--data', path: join(dir, 'images-link') }] }, /^--out: expected a folder other than the input folder --data ".*images-link", received the same folder ".*images"$/);
    refuses({ path: join(data, 'r.png'), kind: 'file', inputs: [{ flag: '--data', path: data }] }, /^--out: expected a path outside the input folder --data ".*images", received ".*images\/r\.png"$/);
    // A folder below the data folder is another folder.
    claimOutputs({ path: join(data, 'runs', 'a'), kind: 'folder', files: ['model.safetensors'], inputs: [{ flag: '--data', path: data }] }).release();
    const csv = join(dir, 't.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    const spec: OutputSpec = { path: csv, kind: 'file', force: true };
    checkOutputs(spec);
    refuses(spec, /^--out: expected a path other than the input --model's training data ".*t\.csv", received the same file$/, (sp) => checkInputs(sp, [{ flag: "--model's training data", path: csv }]));
  });
});

test('claimOutputs, a folder: a file in its place, files of the command present without force, folders in the way; present names returned for removal', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'file'), 'x');
    refuses({ path: join(dir, 'file'), kind: 'folder', force: true }, /^--out: expected a folder, received the file ".*file"$/);
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'b.md'), 'old');
    writeFileSync(join(out, 'model-x4.safetensors'), 'old');
    writeFileSync(join(out, 'notes.txt'), 'the user\'s');
    const spec: OutputSpec = { path: out, kind: 'folder', files: ['a.png', 'b.md'], also: (n) => /^model-x\d+\.safetensors$/.test(n) };
    refuses(spec, /^--out: expected a folder without b\.md, model-x4\.safetensors \(pass --force to replace them\), received ".*out" which has them$/);
    const claim = claimOutputs({ ...spec, force: true });
    assert.deepEqual(claim.present, ['b.md', 'model-x4.safetensors']);
    // The new run's files, after the old run's own are removed: never a mix; the user's file stays.
    writeFolder(out, [{ name: 'a.png', data: 'new' }, { name: 'b.md', data: 'new' }], claim.present);
    claim.release();
    assert.deepEqual(readdirSync(out).sort(), ['a.png', 'b.md', 'notes.txt']);
    // A folder where a file goes, a file where a subfolder goes: refused even with force.
    mkdirSync(join(out, 'a.png.d'));
    mkdirSync(join(out, 'c.json'));
    refuses({ path: out, kind: 'folder', files: ['c.json'], force: true }, /^--out: expected ".*out\/c\.json" to be a file it can replace, received a folder$/);
    refuses({ path: out, kind: 'folder', files: ['notes.txt/x.md'], force: true }, /^--out: expected ".*out\/notes\.txt" to be a folder \(for x\.md\), received a file$/);
  });
});

test('claimOutputs: the output stays locked until released; a second claim names the holder', () => {
  withDir((dir) => {
    const out = join(dir, 'run');
    const spec: OutputSpec = { path: out, kind: 'folder', files: ['model.safetensors'] };
    const claim = claimOutputs(spec);
    assert.ok(existsSync(lockPathFor(out)));
    refuses(spec, new RegExp(`^--out: expected an output no other run is writing, received ".*run": process ${process.pid} `));
    claim.release();
    assert.ok(!existsSync(lockPathFor(out)));
    claimOutputs(spec).release();
  });
});
