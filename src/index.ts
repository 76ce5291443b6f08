/**
 * worldkit: latent world models in Node.js over hand-written C++ (and CUDA) kernels.
 *
 *   import * as wk from 'worldkit';
 *   const x = wk.randn([4, 3], { seed: 1 });
 */
export { Tensor, isTensor, keep, shapeSize } from './tensor/tensor';
export type { GradFn } from './tensor/tensor';
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand, getDefaultDevice, setDefaultDevice } from './tensor/creation';
export type { CreateOptions, RandomOptions } from './tensor/creation';
export { tidy, dispose } from './tensor/scope';
export { memory, clearHostCache, setHostCacheLimit } from './tensor/memory';
export type { Device, DType, MemoryInfo } from './tensor/memory';
export type { HostCacheStats } from './backend/host_arrays';
export { reshape, flatten, slice, index, permute, transpose, concat, writeInto, stack, squeeze, unsqueeze, clone } from './ops/shape';
export { noGrad, isGradEnabled } from './autograd/grad_mode';
export { Generator, manualSeed, getDefaultGenerator } from './random/generator';
export type { GeneratorState } from './random/generator';
export { add, sub, mul, div, neg, square, sqrt, relu, leakyRelu, sigmoid, tanh, exp, log, softplus } from './ops/elementwise';
export { abs, clamp, pow, scale, reciprocal, broadcastShapes, gelu } from './ops/elementwise';
export { layerNorm } from './ops/layer_norm';
export { sum, mean } from './ops/reduce';
export { sumTo } from './ops/reduce';
export { mseLoss, bceWithLogits, klDivergenceNormal, crossEntropy } from './losses/index';
export * as losses from './losses/index';
export * as optim from './optim/index';
export { matmul, linear } from './ops/matmul';
export { conv2d, convTranspose2d, framesToFloat, floatToFrames } from './ops/conv';
export type { Conv2dOptions, ConvTranspose2dOptions, FrameLayout } from './ops/conv';
export { cudaStatus, cudaAvailable, useCudaEmulation, cudaEmulated, cudaAllocatorStats, cudaEmptyCache } from './backend/cuda';
export { registerBackend, backendNames } from './backend/registry';
export type { Backend, BackendStatus, UnrollDims, UnrollWeights, UnrollSaved, UnrollGrads, LstmWeightBuffers, LstmWeightGrads } from './backend/backend';
export type { CudaStatus, CudaAllocatorStats } from './backend/cuda';
export { native, nativeFamilies } from './backend/native';
export * as nn from './nn/index';
export * as data from './data/index';
export * as train from './train/index';
export * as rollout from './rollout/index';
export * as diagnostics from './diagnostics/index';
export { lstmCell, lstmSequence, residualHead, lstmGates } from './ops/lstm';
export { causalAttention } from './ops/attention';
export type { CausalAttentionOptions } from './ops/attention';
export { saveSafetensors, loadSafetensors, loadSafetensorsWithMetadata, encodeSafetensors, decodeSafetensors } from './io/safetensors';
export type { SafetensorsFile } from './io/safetensors';
export { LatentPredictor } from './models/latent_predictor';
export type { LatentPredictorOptions, PredictorLossOptions } from './models/latent_predictor';
export { ConvLSTMPredictor } from './models/conv_lstm_predictor';
export type { ConvLSTMPredictorOptions, PixelLossOptions, PixelLoss } from './models/conv_lstm_predictor';
export { LatentSequenceModel } from './models/latent_sequence_model';
export type { LatentSequenceModelOptions, PredictorKind } from './models/latent_sequence_model';
export { LatentTransformer } from './models/latent_transformer';
export type { LatentTransformerOptions } from './models/latent_transformer';
export * as models from './models/index';
export { perceptualLoss, discriminatorLoss, generatorLoss, multiHeadCrossEntropy, discriminatorAccuracy } from './losses/remedies';
export { LatentDiscriminator, PatchDiscriminator } from './models/discriminators';
export type { LatentDiscriminatorOptions, PatchDiscriminatorOptions } from './models/discriminators';
export { LatentClassifier, fitLatentClassifier } from './models/latent_classifier';
export type { LatentClassifierOptions, FitLatentClassifierOptions, FitLatentClassifierResult } from './models/latent_classifier';

import { native } from './backend/native';
/** Threads the CPU kernels use (default: all cores, or $WORLDKIT_NUM_THREADS). */
export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.numThreads();
}
/** The SIMD instruction set the CPU kernels dispatch to ('avx512' | 'avx2' | 'portable'). */
export function cpuIsa(): string {
  return native.isa();
}

// Every public class, option and result type is nameable from the package root (issue 16): a
// consumer compiling with `declaration: true` can write the type of anything the API returns.
export { ConvVAE, ResidualBlock, worldModelsVAE } from './models/conv_vae';
export type { ConvVAEOptions, ConvVAEDecoderOptions, VAEOutput, VAELoss, VAEForwardOptions } from './models/conv_vae';
export type { Pair } from './ops/conv';
export type { AnyTypedArray, Storage } from './tensor/memory';
export type { EpisodeSource } from './train/data';
export type { LoopSpec, StepContext, TrainCallbacks, CommonTrainOptions, TrainResult, Logs } from './train/loop';
export type { TrainVAEOptions } from './train/train_vae';
export type { TrainPredictorOptions, PredictorModelOptions, CreatePredictorOptions, LatentEpisode } from './train/train_predictor';
export type { SamplingSchedule, SamplingDecay } from './train/sampling_schedule';
export type { AblateOptions, AblationResult, AblationConfig, AblationVariant } from './train/ablate';
export type { AblationFile, AblationRow, AblationRun, MetricSummary } from './diagnostics/ablation_schema';
export type { Episode, LabelHead } from './data/episode';
export type { InitOptions } from './nn/conv';
export type { Module, Parameter } from './nn/module';
export type { Optimizer } from './optim/optimizer';
export type { Schedule } from './optim/schedules';
