/**
 * Train: students (and the teacher) from the transfer set and its soft targets, over a grid of temperature and alpha,
 * with checkpoints; soft targets become minibatches on the executors, and the parameter-averaging engine
 * ({@link org.distillery.jobs.train.averaging}) trains on them. {@code --task lm} trains a character-level LSTM
 * language model on a text transfer set with the same engine, checkpoints and publication ({@code LmTraining}).
 */
package org.distillery.jobs.train;
