/**
 * Reverse-mode autodiff over the eager tape (micrograd-style): each non-leaf tensor holds a
 * GradFn naming its inputs; backward() visits tensors in reverse topological order, hands each
 * its gradient, and sums what flows into every input. Leaves that require grad accumulate into
 * `.grad` (kept out of tidy scopes, so a training step inside tidy keeps its gradients).
 * The graph is freed as it is consumed, as PyTorch does without retain_graph.
 *
 * Ownership: an op's backward may return the incoming gradient itself, or a view of it, for
 * several inputs. The engine therefore adds in place only into sums it allocated itself, and
 * disposes a gradient once no pending entry refers to it.
 */
import { fmtShape } from '../errors';
import { Tensor } from '../tensor/tensor';
import { noGrad } from './grad_mode';
import { keep } from '../tensor/scope';

/**
 * Non-leaf tensors whose graph a backward() consumed. Their _gradFn is gone, so a second
 * backward() through them would treat them as leaves and silently compute nothing (or fill
 * their .grad); PyTorch raises instead, and so does this engine.
 */
const freed = new WeakSet<Tensor>();

function freedError(t: Tensor, root: Tensor): Error {
  const what = t === root ? `tensor ${root.describe()}` : `tensor ${t.describe()} (an input of ${root.describe()})`;
  return new Error(`backward: ${what} was already backpropagated through, and its graph was freed; call backward() once per forward pass (recompute the forward to backpropagate again)`);
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  // Iterative DFS: recurrent nets over long sequences make deep graphs.
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const inputs = top[0]._gradFn ? top[0]._gradFn.inputs : [];
    if (top[1] < inputs.length) {
      const next = inputs[top[1]++];
      if (freed.has(next)) throw freedError(next, root);
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  return order.reverse();
}

function addInto(target: Tensor, g: Tensor): void {
  if (target._backend !== g._backend) throw new Error(`backward: a gradient is on '${g.device}' but the tensor's gradient so far is on '${target.device}'`);
  target._backend.axpy(target.buf('backward', 'gradient'), g.buf('backward', 'gradient'), target.size, 1);
}

/** A copy of g on its backend (not recorded: the engine runs without the tape). */
function copyOf(g: Tensor): Tensor {
  const out = Tensor.on(g._backend, g.shape.slice(), g.dtype, false, 'backward');
  g._backend.copy(out._buf, g.buf('backward', 'gradient'), g.size, g.dtype, 'backward');
  return out;
}

export function runBackward(root: Tensor, seed?: Tensor): void {
  if (root._disposed) throw new Error(`backward: tensor ${root.describe()} was disposed`);
  if (!root.requiresGrad)
    throw new Error(`backward: tensor ${root.describe()} does not require grad (no input requires grad, or it was made under noGrad)`);
  if (seed === undefined && root.size !== 1)
    throw new RangeError(`backward: a gradient must be given for a non-scalar tensor, got shape ${fmtShape(root.shape)}`);
  if (seed !== undefined && seed.shape.join(',') !== root.shape.join(','))
    throw new RangeError(`backward: gradient must have shape ${fmtShape(root.shape)}, got ${fmtShape(seed.shape)}`);
  if (freed.has(root)) throw freedError(root, root);

  noGrad(() => {
    const order = topoOrder(root);
    const pending = new Map<Tensor, Tensor>(); // tensor -> its gradient so far
    const uses = new Map<Tensor, number>(); // gradient -> how many pending entries hold it
    const owned = new Set<Tensor>(); // sums the engine allocated: safe to add into in place
    const hold = (g: Tensor) => uses.set(g, (uses.get(g) ?? 0) + 1);
    const unhold = (g: Tensor) => uses.set(g, (uses.get(g) ?? 1) - 1);
    const disposable = (g: Tensor) => g !== seed && (uses.get(g) ?? 0) === 0;

    let rootGrad: Tensor;
    if (seed === undefined) {
      rootGrad = Tensor.on(root._backend, root.shape.slice(), 'float32', false, 'backward');
      root._backend.fill(rootGrad._buf, rootGrad.size, 1, 'backward');
    } else {
      rootGrad = seed;
    }
    pending.set(root, rootGrad);
    hold(rootGrad);

    for (const t of order) {
      const g = pending.get(t);
      if (!g) continue;
      pending.delete(t);
      unhold(g);
      const fn = t._gradFn;
      if (!fn) {
        accumulateLeaf(t, g, disposable(g) && g._storage.refs === 1);
        continue;
      }
      // A disposed input's memory may hold another tensor's values by now (host buffers are
      // reused, device memory is freed): its op's backward could read them silently.
      for (const input of fn.inputs)
        if (input._disposed)
          throw new Error(`backward: ${input.describe()}, an input of ${fn.name}, was disposed before backward reached it; keep what a loss was computed from alive until backward (call backward inside the same tidy, or keep() the tensors)`);
      const inputGrads = fn.backward(g);
      if (inputGrads.length !== fn.inputs.length)
        throw new Error(`backward: ${fn.name} returned ${inputGrads.length} gradients for ${fn.inputs.length} inputs`);
      const candidates = new Set<Tensor>([g]);
      for (let i = 0; i < fn.inputs.length; ++i) {
        const input = fn.inputs[i];
        const gi = inputGrads[i];
        if (!gi) continue;
        candidates.add(gi);
        if (!input.requiresGrad) continue;
        if (gi.shape.join(',') !== input.shape.join(','))
          throw new Error(`backward: ${fn.name} gave a gradient of shape ${fmtShape(gi.shape)} for an input of shape ${fmtShape(input.shape)}`);
        const prev = pending.get(input);
        if (!prev) {
          pending.set(input, gi);
          hold(gi);
        } else if (owned.has(prev) && (uses.get(prev) ?? 0) === 1) {
          addInto(prev, gi);
        } else {
          const sum = copyOf(prev);
          addInto(sum, gi);
          owned.add(sum);
          unhold(prev);
          candidates.add(prev);
          pending.set(input, sum);
          hold(sum);
        }
      }
      for (const c of candidates) if (disposable(c)) c.dispose();
      t._gradFn = null; // frees the closure and what it saved
      freed.add(t);
    }

    function accumulateLeaf(t: Tensor, g: Tensor, exclusive: boolean): void {
      if (t.grad && !t.grad._disposed) {
        addInto(t.grad, g);
        if (disposable(g)) g.dispose();
      } else {
        // .grad is added into in place later, so it must not alias anything else.
        t.grad = keep(exclusive ? g : copyOf(g));
        if (!exclusive && disposable(g)) g.dispose();
      }
    }
  });
}

declare module '../tensor/tensor' {
  interface Tensor {
    /**
     * Back-propagates from this tensor. A scalar needs no seed gradient; any other shape needs
     * `gradient` of the same shape. Gradients accumulate into `.grad` of leaves that require them.
     */
    backward(gradient?: Tensor): void;
  }
}
Tensor.prototype.backward = function backward(this: Tensor, gradient?: Tensor): void {
  runBackward(this, gradient);
};
