/**
 * The op layer, loaded as a whole: importing it attaches the fluent Tensor methods and the
 * autograd engine's backward(). Every module above the ops (nn, models, ...) imports this.
 */
import '../autograd/engine';
import './methods';
export * from './elementwise';
export * from './reduce';
export * from './matmul';
export * from './shape';
export * from './conv';
export * from './lstm';
export * from './attention';
export * from './layer_norm';
export { toDevice } from './transfer';
