import cliProgress from 'cli-progress';
import type { Callbacks, EpochMetrics } from '../train/trainer.js';

export function epochLine(m: EpochMetrics, epochs: number): string {
  const test = (m.testLoss === null ? '' : `  test ${m.testLoss.toFixed(5)}`) + (m.testLossCorrupted === undefined ? '' : `  corrupted test ${m.testLossCorrupted.toFixed(5)}`);
  return `epoch ${m.epoch}/${epochs}  train ${m.trainLoss.toFixed(5)}${test}  lr ${Number(m.lr.toPrecision(4))}  ${m.seconds.toFixed(1)} s  ${Math.round(m.samplesPerSecond)} samples/s`;
}

/**
 * Training callbacks that report progress on stderr: a bar per epoch on a terminal,
 * one plain line per epoch otherwise (logs, CI, pipes).
 */
export function progressCallbacks(epochs: number, stream: NodeJS.WriteStream = process.stderr): Callbacks {
  if (!stream.isTTY) {
    return { onEpochEnd: (m) => stream.write(epochLine(m, epochs) + '\n') };
  }
  let bar: cliProgress.SingleBar | null = null;
  return {
    onEpochStart: () => {
      bar = null;
    },
    onBatchEnd: (b) => {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          { stream, format: `epoch ${b.epoch}/${epochs} [{bar}] {value}/{total} batches  loss {loss}`, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(b.batches, 0, { loss: '-' });
      }
      if (b.batch % 10 === 0 || b.batch === b.batches) bar.update(b.batch, { loss: b.loss.toFixed(5) });
    },
    onEpochEnd: (m) => {
      bar?.stop();
      stream.write(epochLine(m, epochs) + '\n');
    },
  };
}
