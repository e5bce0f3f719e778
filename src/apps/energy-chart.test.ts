import { test } from 'node:test';
import assert from 'node:assert/strict';
import { energyCurveSpec } from './energy.js';
import { decodePng } from '../viz/image.js';
import { renderChart } from '../viz/vega.js';

test('energyCurveSpec: E(z) against the step, start and end labelled; renders with its title as text', async () => {
  const s = energyCurveSpec([0.5, 0.3, 0.2, 0.15]) as any;
  assert.equal(s.title.text, 'Energy minimisation in code space');
  assert.match(s.title.subtitle, /over 3 steps/);
  const line = s.layer[0];
  assert.equal(line.mark.type, 'line');
  assert.equal(line.encoding.x.field, 'step');
  assert.equal(line.encoding.x.title, 'Adam step on z');
  assert.equal(line.encoding.y.field, 'energy');
  assert.deepEqual(line.data.values.map((v: any) => v.step), [0, 1, 2, 3]);
  assert.deepEqual([...s.layer[2].data.values, ...s.layer[3].data.values].map((v: any) => v.label), ['start 0.5000', 'end 0.1500']);
  assert.deepEqual((energyCurveSpec([]) as any).layer[1].data.values, []);
  const r = await renderChart(s);
  assert.match(r.svg, />Energy minimisation in code space<\/text>/);
  assert.match(r.svg, />end 0.1500<\/text>/);
  assert.ok(decodePng(r.png).width > 1000);
});
