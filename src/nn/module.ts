/**
 * Module and Parameter, PyTorch-shaped: a module owns named parameters and child modules;
 * `namedParameters()` yields dotted names (`encoder.0.weight`) that match PyTorch's state dict,
 * so weights move between the two through safetensors.
 */
import { fmtShape } from '../errors';
import { Tensor, isTensor } from '../tensor/tensor';
import { keep } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import type { Device } from '../tensor/memory';
import '../ops';

/** A tensor registered as a module's trainable weight (requires grad, never tidied away). */
export class Parameter extends Tensor {
  /** Frozen parameters get no gradient and optimizers skip them. */
  frozen = false;
  constructor(t: Tensor) {
    super(t.shape.slice(), 'float32', t.f32('Parameter').slice());
    if (t.dtype !== 'float32') throw new TypeError(`Parameter: must be float32, got ${t.dtype}`);
    keep(this);
    this.requiresGrad = true;
  }
}

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Parameter>();
  private readonly _children = new Map<string, Module>();
  private readonly _buffers = new Map<string, Tensor>();

  /** Registers a parameter under `name` and returns it. */
  protected registerParameter(name: string, t: Tensor): Parameter {
    const p = t instanceof Parameter ? t : new Parameter(t);
    if (!(t instanceof Parameter)) t.dispose();
    p.name = name;
    this._params.set(name, p);
    return p;
  }

  /** Replaces a registered parameter's storage (e.g. when loading). */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this._children.set(name, m);
    return m;
  }

  /** A non-trainable tensor saved in the state dict (e.g. running statistics). */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    keep(t);
    this._buffers.set(name, t);
    return t;
  }

  abstract forward(...args: unknown[]): unknown;

  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    for (const [n, p] of this._params) yield [prefix + n, p];
    for (const [n, m] of this._children) yield* m.namedParameters(`${prefix}${n}.`);
  }

  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  /** Parameters an optimizer should update (not frozen). */
  trainableParameters(): Parameter[] {
    return this.parameters().filter((p) => !p.frozen);
  }

  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, b] of this._buffers) yield [prefix + n, b];
    for (const [n, m] of this._children) yield* m.namedBuffers(`${prefix}${n}.`);
  }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix.replace(/\.$/, ''), this];
    for (const [n, m] of this._children) yield* m.namedModules(`${prefix}${n}.`);
  }

  children(): Module[] {
    return [...this._children.values()];
  }

  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Stops gradients to every parameter; optimizers leave them alone. */
  freeze(): this {
    for (const p of this.parameters()) {
      p.frozen = true;
      p.requiresGrad = false;
      p.zeroGrad();
    }
    return this;
  }

  unfreeze(): this {
    for (const p of this.parameters()) {
      p.frozen = false;
      p.requiresGrad = true;
    }
    return this;
  }

  get isFrozen(): boolean {
    const ps = this.parameters();
    return ps.length > 0 && ps.every((p) => p.frozen);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /**
   * Moves every parameter and buffer (and their gradients) to `device` in place, as PyTorch's
   * module.to(device): optimizers built over the parameters keep working. Returns this.
   */
  to(device: Device): this {
    for (const p of this.parameters()) p._moveTo(device, 'Module.to');
    for (const [, b] of this.namedBuffers()) if (b.dtype === 'float32') b._moveTo(device, 'Module.to');
    return this;
  }

  /** Parameters and buffers by PyTorch-style dotted name (the live tensors, not copies). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [n, p] of this.namedParameters()) out[n] = p;
    for (const [n, b] of this.namedBuffers()) out[n] = b;
    return out;
  }

  /**
   * Copies values from `dict` into this module's parameters and buffers. Every key must be
   * present with the same shape (strict) or, with strict=false, missing keys are skipped;
   * unexpected keys are an error either way, naming the key.
   */
  loadStateDict(dict: Record<string, Tensor | { shape: number[]; data: Float32Array }>, strict = true): void {
    const own = this.stateDict();
    const problems: string[] = [];
    for (const k of Object.keys(dict)) if (!(k in own)) problems.push(`unexpected key '${k}'`);
    for (const [k, t] of Object.entries(own)) {
      const src = dict[k];
      if (src === undefined) {
        if (strict) problems.push(`missing key '${k}' (expected shape ${fmtShape(t.shape)})`);
        continue;
      }
      const shape = src.shape;
      if (shape.join(',') !== t.shape.join(','))
        problems.push(`key '${k}' has shape ${fmtShape(shape)}, expected ${fmtShape(t.shape)}`);
    }
    if (problems.length) throw new RangeError(`loadStateDict: ${problems.join('; ')}`);
    noGrad(() => {
      for (const [k, t] of Object.entries(own)) {
        const src = dict[k];
        if (src === undefined) continue;
        const data = isTensor(src) ? src.hostF32('loadStateDict', k) : src.data;
        if (data.length !== t.size) throw new RangeError(`loadStateDict: key '${k}' has ${data.length} values, expected ${t.size}`);
        t._backend.upload(t.buf('loadStateDict', k), data, 'loadStateDict');
      }
    });
  }

  /** Disposes every parameter and buffer. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
}
