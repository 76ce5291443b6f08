/**
 * Losses: the fused native ones (./fused: mseLoss, bceWithLogits, klDivergenceNormal,
 * crossEntropy) and issue 12's remedies composed from them (./remedies: perceptualLoss,
 * discriminatorLoss, generatorLoss, multiHeadCrossEntropy, discriminatorAccuracy). Split in two
 * files so that the remedies import the fused losses without an import cycle through this index.
 */
export * from './fused';
export * from './remedies';
