/**
 * The health of a GAN-style discriminator over an epoch, from what the trainer logs per step.
 * Two failure modes are reported rather than hidden:
 *   overpowered  it was right (accuracy >= 99%) at every step of the epoch: the generator's
 *                gradient through it vanishes, the adversarial term stops teaching;
 *   collapsed    accuracy at chance (within 5 points of 50%) with a flat loss (std <= 0.01 over
 *                the epoch's steps, at 2 ln 2 = 1.386 for a constant 50/50 answer): it gives no signal.
 * The verdict reads only the loop's epoch means of the per-step values (discriminatorStepLogs),
 * which the loop keeps in its checkpoints, so an epoch resumed mid-way is judged on all its steps.
 */
import type { Logs } from './loop';

const OVERPOWERED_ACC = 0.99;
const COLLAPSED_ACC = 0.05;
const COLLAPSED_LOSS_STD = 0.01;

/** What a trainer logs for its discriminator at each step (its loss and accuracy on that step's last update). */
export function discriminatorStepLogs(accuracy: number, loss: number): Logs {
  return { discLoss: loss, discAcc: accuracy, discLossSq: loss * loss, discAllRight: accuracy >= OVERPOWERED_ACC ? 1 : 0 };
}

/**
 * The note for an epoch whose mean logs are `logs` (null when healthy or without a
 * discriminator). `what` names what it judges ('predicted latents', 'reconstructions'), `steps`
 * the steps the means cover.
 */
export function discriminatorHealth(epoch: number, logs: Logs, what: string): string | null {
  const { discAcc: acc, discLoss: loss, discLossSq: sq, discAllRight: allRight } = logs;
  if (acc === undefined || loss === undefined) return null;
  const where = `epoch ${epoch + 1}`;
  if (allRight !== undefined && allRight >= 1 - 1e-9)
    return `discriminator overpowered in ${where}: it told real from ${what} at >= ${OVERPOWERED_ACC * 100}% accuracy at every step (mean ${(acc * 100).toFixed(1)}%, loss ${loss.toFixed(3)}), so the adversarial gradient is vanishing; try a lower --disc_lr, --disc_steps 1, or a smaller --adversarial_weight`;
  const std = sq === undefined ? Infinity : Math.sqrt(Math.max(0, sq - loss * loss));
  if (Math.abs(acc - 0.5) <= COLLAPSED_ACC && std <= COLLAPSED_LOSS_STD)
    return `discriminator collapsed in ${where}: accuracy ${(acc * 100).toFixed(1)}% with a flat loss ${loss.toFixed(3)} (std ${std.toFixed(4)}; a constant 50/50 answer scores 2 ln 2 = 1.386), so it tells real from ${what} no better than chance and the adversarial term carries no signal; try a higher --disc_lr or more --disc_steps`;
  return null;
}
