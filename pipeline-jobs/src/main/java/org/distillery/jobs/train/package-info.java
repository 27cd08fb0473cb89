/**
 * Train: students (and the teacher) from the transfer set and its soft targets, over a grid of temperature and alpha,
 * with checkpoints; soft targets become minibatches on the executors, and the parameter-averaging engine
 * ({@link org.distillery.jobs.train.averaging}) trains on them.
 */
package org.distillery.jobs.train;
