/** Recording on the autograd tape: an op's output remembers its inputs and its backward. */
import { GradFn, Tensor } from '../tensor/tensor';
import { isGradEnabled } from './grad_mode';

/** Records `out` on the tape when grad mode is on and any input requires grad. Returns out. */
export function record(out: Tensor, name: string, inputs: Tensor[], backward: GradFn['backward']): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out._gradFn = { name, inputs, backward };
  }
  return out;
}
