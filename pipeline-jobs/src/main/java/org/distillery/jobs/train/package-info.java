/**
 * Train: students (and the teacher) with DL4J's Spark parameter averaging behind {@link
 * org.distillery.jobs.train.DistributedTrainer}; soft targets to minibatches on the executors.
 */
package org.distillery.jobs.train;
