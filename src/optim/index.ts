/** Optimizers, gradient clipping and learning-rate schedules (wk.optim). */
export { Optimizer } from './optimizer';
export type { OptimizerStateDict, ParamState, ParamsLike, SavedParamState } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { clipGradNorm, gradNorm, sumOfSquares } from './clip';
export { LRScheduler } from './schedules';
export type { Schedule, CosineOptions, LRSchedulerState } from './schedules';
export * as schedules from './schedules';
