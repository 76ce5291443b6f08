/** The data layer: the driving simulator, Moving MNIST, users' episodes and sequence batching. */
export { DrivingSim, generateEpisodes, episodeSeed, episodeCachePath, SIM_HEIGHT, SIM_WIDTH, SIM_FRAME_BYTES, SIM_ACTION_DIM, SIM_LABEL_DIM, LANE_NAMES, CURVE_NAMES, SPEED_NAMES, SIM_LABEL_HEADS } from './driving_sim';
export type { SimState, StepResult, StepBatch, DriverOptions, GenerateOptions } from './driving_sim';
export { movingMnist, movingMnistChunks, movingMnistEpisodes, mnistDigits } from './moving_mnist';
export type { MovingMnistOptions, MovingMnistSet, MovingMnistEpisodeOptions } from './moving_mnist';
export { loadNpzEpisode, loadNpzDataset, loadPngEpisode, loadPngDataset, DataFileError } from './loaders';
export type { LoadOptions, LoadResult, FileError } from './loaders';
export { SequenceDataset, SequenceSplit } from './sequence_dataset';
export type { SequenceDatasetOptions, SequenceBatch, Window } from './sequence_dataset';
export { episodeFrame, validateEpisode, resizeFrames, labelHeadsOf, channelsOf, frameBytesOf } from './episode';
export type { Episode, LabelHead } from './episode';
export { readEpisodes, writeEpisodes, defaultCacheDir, EpisodeFileError } from './episode_cache';
export { encodePNG, decodePNG, contactSheet } from '../io/png';
export type { Image } from '../io/png';
