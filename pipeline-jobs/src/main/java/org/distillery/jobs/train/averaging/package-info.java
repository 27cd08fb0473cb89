/**
 * The parameter-averaging engine: DL4J's synchronous parameter averaging on Spark, as the train job uses it.
 *
 * <p>What the train job sees: {@link org.distillery.jobs.train.averaging.DistributedTrainer} (one epoch at a time;
 * {@link org.distillery.jobs.train.averaging.ParameterAveragingTrainer} is today's), its settings
 * ({@link org.distillery.jobs.train.averaging.TrainerSettings}, which also says how minibatches are partitioned into
 * rounds, and {@link org.distillery.jobs.train.averaging.EngineConfig}) and the executor memory check
 * ({@link org.distillery.jobs.train.averaging.OffHeapLimits}). Everything else is package-private.
 *
 * <p>Inside: {@code ParameterAveragingTrainer} cuts each epoch into its rounds and hands them to a
 * {@code RoundRunner} picked once per training by {@code RoundRunners}: one Spark job per round ({@code RoundJobs}, or
 * {@code ExportedRoundJobs} fed exported files), or epochs of rounds in one barrier job averaging through the
 * driver's exchange ({@code ExchangeEpochs}: {@code ExchangeSession}, {@code ExchangeRounds} and {@code ExchangeTask}
 * over {@code AveragingExchange} and {@code ExchangeWire}; in-process queues for workers in the driver's JVM, TCP for
 * executors) behind {@code ExchangeFallback}, which runs round jobs once an exchange epoch has failed;
 * {@code ResidentGrowth} decides when a worker's epoch end collects garbage. {@code RoundMaster} is DL4J's master
 * running one lean round per job, {@code DenseStepWorker} DL4J's worker stepping with model-lib's dense step,
 * {@code RoundSum} a round's results as float arrays. Every way trains the same network.
 */
package org.distillery.jobs.train.averaging;
