/**
 * The models, as `wk.models.<Name>` (each is also exported at the top level of worldkit).
 */
export { ConvVAE, ResidualBlock, worldModelsVAE } from './conv_vae';
export { LatentSequenceModel } from './latent_sequence_model';
export { LatentPredictor } from './latent_predictor';
export { LatentTransformer } from './latent_transformer';
export { LatentDiscriminator, PatchDiscriminator } from './discriminators';
export { LatentClassifier, fitLatentClassifier } from './latent_classifier';
export { SemanticProbe } from './semantic_probe';
export { ConvLSTMPredictor } from './conv_lstm_predictor';
