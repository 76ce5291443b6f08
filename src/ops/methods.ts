/**
 * The fluent spellings of the ops (x.add(y), x.reshape(...), x.to('cuda')), attached to Tensor
 * here so that the tensor layer imports no op: tensor <- autograd <- ops.
 */
import { Tensor } from '../tensor/tensor';
import { Device } from '../tensor/memory';
import * as elementwise from './elementwise';
import * as reduce from './reduce';
import * as matmulOps from './matmul';
import * as shapeOps from './shape';
import { toDevice } from './transfer';
import { moveInPlace } from '../tensor/placement';

declare module '../tensor/tensor' {
  interface Tensor {
    /**
     * This tensor on `device`: itself when it is already there, else a copy (recorded on the tape:
     * the gradient flows back to this device). 'cuda' needs cudaStatus().available (or the
     * emulation, WORLDKIT_CUDA_EMULATE=1).
     */
    to(device: Device): Tensor;
    /** Internal: moves this tensor's elements (and its grad) to `device` in place (Module.to). */
    _moveTo(device: Device, fn?: string): void;
    /** A deep copy (recorded on the tape). */
    clone(): Tensor;
    reshape(...shape: (number | number[])[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    slice(begin: number[], size?: number[]): Tensor;
    /** Element i along axis 0 (a view sharing storage; recorded on the tape). */
    index(i: number): Tensor;
    permute(...dims: (number | number[])[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    squeeze(axis?: number): Tensor;
    unsqueeze(axis: number): Tensor;
    add(b: Tensor | number): Tensor;
    sub(b: Tensor | number): Tensor;
    mul(b: Tensor | number): Tensor;
    div(b: Tensor | number): Tensor;
    neg(): Tensor;
    square(): Tensor;
    sqrt(): Tensor;
    relu(): Tensor;
    leakyRelu(slope?: number): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    softplus(): Tensor;
    /** GELU, exact (erf) form. */
    gelu(): Tensor;
    sum(axis?: number | number[], keepDims?: boolean): Tensor;
    mean(axis?: number | number[], keepDims?: boolean): Tensor;
    matmul(b: Tensor): Tensor;
  }
}

const P = Tensor.prototype;
P.to = function (this: Tensor, device: Device) {
  return toDevice(this, device);
};
P._moveTo = function (this: Tensor, device: Device, fn = 'to') {
  moveInPlace(this, device, fn);
};
P.clone = function (this: Tensor) {
  return shapeOps.clone(this);
};
P.reshape = function (this: Tensor, ...shape: (number | number[])[]) {
  return shapeOps.reshape(this, shape.flat());
};
P.flatten = function (this: Tensor, startDim = 0, endDim = -1) {
  return shapeOps.flatten(this, startDim, endDim);
};
P.slice = function (this: Tensor, begin: number[], size?: number[]) {
  return shapeOps.slice(this, begin, size);
};
P.index = function (this: Tensor, i: number) {
  return shapeOps.index(this, i);
};
P.permute = function (this: Tensor, ...dims: (number | number[])[]) {
  return shapeOps.permute(this, dims.flat());
};
P.transpose = function (this: Tensor, dim0 = 0, dim1 = 1) {
  return shapeOps.transpose(this, dim0, dim1);
};
P.squeeze = function (this: Tensor, axis?: number) {
  return shapeOps.squeeze(this, axis);
};
P.unsqueeze = function (this: Tensor, axis: number) {
  return shapeOps.unsqueeze(this, axis);
};
P.add = function (this: Tensor, b: Tensor | number) {
  return elementwise.add(this, b);
};
P.sub = function (this: Tensor, b: Tensor | number) {
  return elementwise.sub(this, b);
};
P.mul = function (this: Tensor, b: Tensor | number) {
  return elementwise.mul(this, b);
};
P.div = function (this: Tensor, b: Tensor | number) {
  return elementwise.div(this, b);
};
P.neg = function (this: Tensor) {
  return elementwise.neg(this);
};
P.square = function (this: Tensor) {
  return elementwise.square(this);
};
P.sqrt = function (this: Tensor) {
  return elementwise.sqrt(this);
};
P.relu = function (this: Tensor) {
  return elementwise.relu(this);
};
P.leakyRelu = function (this: Tensor, slope = 0.01) {
  return elementwise.leakyRelu(this, slope);
};
P.sigmoid = function (this: Tensor) {
  return elementwise.sigmoid(this);
};
P.tanh = function (this: Tensor) {
  return elementwise.tanh(this);
};
P.exp = function (this: Tensor) {
  return elementwise.exp(this);
};
P.log = function (this: Tensor) {
  return elementwise.log(this);
};
P.softplus = function (this: Tensor) {
  return elementwise.softplus(this);
};
P.gelu = function (this: Tensor) {
  return elementwise.gelu(this);
};
P.sum = function (this: Tensor, axis?: number | number[], keepDims = false) {
  return reduce.sum(this, axis, keepDims);
};
P.mean = function (this: Tensor, axis?: number | number[], keepDims = false) {
  return reduce.mean(this, axis, keepDims);
};
P.matmul = function (this: Tensor, b: Tensor) {
  return matmulOps.matmul(this, b);
};
