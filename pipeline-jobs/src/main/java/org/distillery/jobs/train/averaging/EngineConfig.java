package org.distillery.jobs.train.averaging;

import java.util.Arrays;
import java.util.Locale;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.RepartitionStrategy;

/**
 * The parameter-averaging master's settings beyond workers, batch size and averaging frequency, validated when set.
 *
 * @param prefetch            minibatches each worker prefetches asynchronously (0: none)
 * @param approach            {@code direct}: minibatches stay in Spark's cache; {@code export}: they are written once per trial
 *                            to {@code exportDir} and every epoch fits from those files (DL4J's advice for big data)
 * @param exportDir           where {@code export} writes minibatches (any Hadoop filesystem); required for export
 * @param repartition         DL4J's repartition rule: never, always or num-partitions-workers-differs
 * @param repartitionStrategy balanced or spark-default
 * @param aggregationDepth    depth of the tree aggregation of parameters (2 suits up to ~50 workers)
 * @param storageLevel        Spark storage level of the cached minibatches, e.g. MEMORY_AND_DISK_SER
 * @param trainingStats       collect DL4J's per-phase timing stats and publish them as training-stats.html
 * @param workerStep          how a worker takes one minibatch step: {@code dense} (the default; null means it), model-lib's
 *                            {@code DenseTrainingStep} for students it covers, DL4J's {@code fit} for others; {@code fit},
 *                            always DL4J's {@code fit}. Training stats always use {@code fit} (they time it).
 * @param rounds              how averaging rounds run: {@code exchange} (the default; null means it), epochs of
 *                            rounds in one Spark job whose workers average through the driver's exchange
 *                            ({@link ExchangeRounds}; where it cannot run, one job per round); {@code jobs}, one
 *                            Spark job per round. The same network either way.
 */
public record EngineConfig(int prefetch, String approach, String exportDir, String repartition,
                           String repartitionStrategy, int aggregationDepth, String storageLevel,
                           boolean trainingStats, String workerStep, String rounds) {
    /** Where classifier minibatches are cached: compact rows, serialised, spilled to disk when memory is short. */
    public static final String DEFAULT_STORAGE_LEVEL = "MEMORY_AND_DISK_SER";
    /**
     * Where LM minibatches are cached: as objects, recomputed when they do not fit. An LM minibatch holds its targets
     * one-hot, [batch, vocabulary, T] floats (41 KB a window of 64 characters over 159 ids, about 3.4 GB for the demo's
     * 83,405 training windows); a serialised level keeps those bytes on the JVM heap, twice while an epoch's rounds are
     * regrouped by worker, which is more than the default heap holds. As objects they sit off the heap, once.
     */
    public static final String DEFAULT_LM_STORAGE_LEVEL = "MEMORY_ONLY";
    public static final EngineConfig DEFAULT = new EngineConfig(0, "direct", null, "num-partitions-workers-differs",
            "balanced", 2, DEFAULT_STORAGE_LEVEL, false, "dense");

    public EngineConfig {
        rounds = rounds == null ? "exchange" : rounds;
        if (!"exchange".equals(rounds) && !"jobs".equals(rounds)) {
            throw new IllegalArgumentException("rounds must be exchange or jobs, got '" + rounds + "'");
        }
        workerStep = workerStep == null ? "dense" : workerStep;
        if (!"dense".equals(workerStep) && !"fit".equals(workerStep)) {
            throw new IllegalArgumentException("worker step must be dense or fit, got '" + workerStep + "'");
        }
        if (prefetch < 0) {
            throw new IllegalArgumentException("prefetch must be >= 0, got " + prefetch);
        }
        if (!"direct".equals(approach) && !"export".equals(approach)) {
            throw new IllegalArgumentException("training approach must be direct or export, got '" + approach + "'");
        }
        exportDir = exportDir == null || exportDir.isBlank() ? null : exportDir;
        if ("export".equals(approach) && exportDir == null) {
            throw new IllegalArgumentException("training approach export needs --export-dir");
        }
        dl4j(repartition, Repartition.class, "repartition");
        dl4j(repartitionStrategy, RepartitionStrategy.class, "repartition strategy");
        if (aggregationDepth < 1) {
            throw new IllegalArgumentException("aggregation depth must be >= 1, got " + aggregationDepth);
        }
        try {
            org.apache.spark.storage.StorageLevel.fromString(storageLevel);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("unknown Spark storage level '" + storageLevel + "' (e.g. MEMORY_ONLY,"
                    + " MEMORY_AND_DISK_SER, DISK_ONLY)");
        }
    }

    /** Settings with the default rounds (exchange). */
    public EngineConfig(int prefetch, String approach, String exportDir, String repartition, String repartitionStrategy,
                        int aggregationDepth, String storageLevel, boolean trainingStats, String workerStep) {
        this(prefetch, approach, exportDir, repartition, repartitionStrategy, aggregationDepth, storageLevel,
                trainingStats, workerStep, null);
    }

    /** These settings with minibatches cached at {@code level}. */
    public EngineConfig storageLevel(String level) {
        return new EngineConfig(prefetch, approach, exportDir, repartition, repartitionStrategy, aggregationDepth, level,
                trainingStats, workerStep, rounds);
    }

    /** Whether an epoch's rounds run as one job averaging through the driver's exchange ({@link ExchangeRounds}). */
    boolean exchange() {
        return "exchange".equals(rounds);
    }

    Repartition repartitionRule() {
        return dl4j(repartition, Repartition.class, "repartition");
    }

    RepartitionStrategy strategy() {
        return dl4j(repartitionStrategy, RepartitionStrategy.class, "repartition strategy");
    }

    /** Whether workers step covered students with {@code DenseTrainingStep}. */
    boolean denseStep() {
        return "dense".equals(workerStep) && !trainingStats;
    }

    boolean export() {
        return "export".equals(approach);
    }

    /** A DL4J enum constant from its kebab-case name (num-partitions-workers-differs -> NumPartitionsWorkersDiffers). */
    private static <E extends Enum<E>> E dl4j(String value, Class<E> type, String what) {
        String key = value == null ? "" : value.replace("-", "").replace("_", "").toLowerCase(Locale.ROOT);
        for (E e : type.getEnumConstants()) {
            if (e.name().toLowerCase(Locale.ROOT).equals(key)) {
                return e;
            }
        }
        throw new IllegalArgumentException(what + " must be one of " + Arrays.stream(type.getEnumConstants())
                .map(e -> e.name().replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT)).toList()
                + ", got '" + value + "'");
    }
}
