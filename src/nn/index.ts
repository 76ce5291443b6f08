/** Neural-network modules (PyTorch-compatible names and layouts). */
export { Module, Parameter } from './module';
export { Layer } from './layer';
export { Linear } from './linear';
export type { LinearOptions } from './linear';
export { Conv2d, ConvTranspose2d } from './conv';
export type { Conv2dModuleOptions, ConvTranspose2dModuleOptions, InitOptions } from './conv';
export { Sequential, Flatten, Unflatten, ReLU, LeakyReLU, Sigmoid, Tanh, GELU, Identity } from './layers';
export { LSTMCell, LSTM } from './lstm';
export type { LSTMOptions, LSTMInitOptions } from './lstm';
export { SpectralNormConv2d, SpectralNormLinear, spectralNormalize } from './spectral_norm';
export type { SpectralNormOptions, SpectralNormConv2dOptions, SpectralNormLinearOptions } from './spectral_norm';
export { LayerNorm } from './layer_norm';
export type { LayerNormOptions } from './layer_norm';
