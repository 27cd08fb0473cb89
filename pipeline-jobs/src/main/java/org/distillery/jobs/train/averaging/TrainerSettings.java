package org.distillery.jobs.train.averaging;

/**
 * Engine settings of the distributed trainer.
 *
 * @param workers            parallel workers (Spark task slots) that each fit a copy of the network
 * @param batchSize          examples per minibatch on each worker
 * @param averagingFrequency minibatches each worker fits between two averagings
 * @param prefetch           minibatches prefetched asynchronously on each worker (0 disables)
 * @param seed               seed of the order in which averaging rounds are visited each epoch
 */
public record TrainerSettings(int workers, int batchSize, int averagingFrequency, int prefetch, long seed) {
    static final int MAX_ADVISED_AVERAGING = 20;

    public TrainerSettings {
        if (workers < 1) {
            throw new IllegalArgumentException("workers must be >= 1, got " + workers);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (averagingFrequency < 1) {
            throw new IllegalArgumentException("averaging frequency must be >= 1, got " + averagingFrequency);
        }
        if (averagingFrequency > MAX_ADVISED_AVERAGING) {
            org.slf4j.LoggerFactory.getLogger(TrainerSettings.class).warn("averaging frequency {} is above {}: workers"
                    + " drift apart between averagings, which can hurt convergence (DL4J's own advice)",
                    averagingFrequency, MAX_ADVISED_AVERAGING);
        }
        if (prefetch < 0) {
            throw new IllegalArgumentException("prefetch must be >= 0, got " + prefetch);
        }
    }

    /**
     * Partitions for {@code rows} training rows: one partition per worker per averaging round, each holding at most
     * {@code averagingFrequency} minibatches, so a round is exactly {@code workers} consecutive partitions.
     */
    public int partitionsFor(long rows) {
        long minibatches = (rows + batchSize - 1) / batchSize;
        long partitions = Math.max(1, (minibatches + averagingFrequency - 1) / averagingFrequency);
        long rounds = (partitions + workers - 1) / workers;
        return Math.toIntExact(rounds * workers);
    }
}
