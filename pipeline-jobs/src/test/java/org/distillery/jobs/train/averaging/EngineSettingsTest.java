package org.distillery.jobs.train.averaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.apache.spark.SparkConf;
import org.distillery.jobs.train.LearningRates;
import org.junit.jupiter.api.Test;

/** Validation of the training master's settings, learning-rate schedules and the ND4J off-heap check. */
class EngineSettingsTest {
    private static final long MIB = 1024L * 1024;

    @Test
    void masterSettingsAreValidatedWithTheValueInTheMessage() {
        EngineConfig d = EngineConfig.DEFAULT;
        assertThat(d.repartitionRule()).isEqualTo(org.deeplearning4j.spark.api.Repartition.NumPartitionsWorkersDiffers);
        assertThatThrownBy(() -> new EngineConfig(0, "export", null, "never", "balanced", 2, "MEMORY_ONLY", false, "dense"))
                .hasMessage("training approach export needs --export-dir");
        assertThatThrownBy(() -> new EngineConfig(0, "direct", null, "sometimes", "balanced", 2, "MEMORY_ONLY", false, "dense"))
                .hasMessage("repartition must be one of [never, always, num-partitions-workers-differs], got 'sometimes'");
        assertThatThrownBy(() -> new EngineConfig(0, "direct", null, "never", "balanced", 2, "IN_THE_CLOUD", false, "dense"))
                .hasMessageStartingWith("unknown Spark storage level 'IN_THE_CLOUD'");
        assertThatThrownBy(() -> new EngineConfig(-1, "direct", null, "never", "balanced", 2, "MEMORY_ONLY", false, "dense"))
                .hasMessage("prefetch must be >= 0, got -1");
        assertThatThrownBy(() -> new EngineConfig(0, "direct", null, "never", "balanced", 0, "MEMORY_ONLY", false, "dense"))
                .hasMessage("aggregation depth must be >= 1, got 0");
        assertThatThrownBy(() -> new EngineConfig(0, "direct", null, "never", "balanced", 2, "MEMORY_ONLY", false, "turbo"))
                .hasMessage("worker step must be dense or fit, got 'turbo'");
        assertThat(new EngineConfig(0, "direct", null, "never", "balanced", 2, "MEMORY_ONLY", false, null).workerStep())
                .as("a configuration saved before worker steps existed").isEqualTo("dense");
        assertThat(new EngineConfig(0, "direct", null, "never", "balanced", 2, "MEMORY_ONLY", true, "dense").denseStep())
                .as("training stats time DL4J's fit").isFalse();
        assertThatThrownBy(() -> new EngineConfig(0, "direct", null, "never", "balanced", 2, "MEMORY_ONLY", false,
                "dense", "barrier")).hasMessage("rounds must be exchange or jobs, got 'barrier'");
        assertThat(d.rounds()).isEqualTo("exchange");
        assertThat(new EngineConfig(0, "direct", null, "never", "balanced", 2, "MEMORY_ONLY", false, "dense", "jobs")
                .exchange()).isFalse();
    }

    /** Where an epoch cannot run as one exchange job, the trainer says why (and runs one job per round). */
    @Test
    void theExchangeSaysWhyItCannotRun() {
        SparkConf plain = new SparkConf(false);
        long student = 152_670; // 784-64-10 with Adam's two moments
        assertThat(ExchangeRounds.unfit(plain, 2, 2, student)).isNull();
        assertThat(ExchangeRounds.unfit(plain, 2, 3, student)).isEqualTo("the cluster has 2 task slots for 3 workers");
        assertThat(ExchangeRounds.unfit(new SparkConf(false).set("spark.dynamicAllocation.enabled", "true"), 8, 2,
                student)).contains("dynamic allocation");
        assertThat(ExchangeRounds.unfit(new SparkConf(false).set("spark.network.crypto.enabled", "true"), 8, 2,
                student)).contains("encrypts its traffic");
        assertThat(ExchangeRounds.unfit(plain, 32, 28, student)).as("2 x 28 x 0.61 MB > 32 MiB")
                .isEqualTo("a round would move 32.6 MiB through the driver (2 x 28 workers x 0.58 MiB of parameters"
                        + " and updater state), above 32 MiB");
        assertThat(ExchangeRounds.unfit(plain, 32, 27, student)).isNull();
        assertThat(ExchangeRounds.unfit(new SparkConf(false).set("spark.master", "local[32]"), 32, 28, student))
                .as("in one JVM no link fills").isNull();
    }

    @Test
    void learningRateSchedules() {
        assertThat(LearningRates.parse("constant", 0.1, 10).at(7)).isEqualTo(0.1);
        LearningRates step = LearningRates.parse("step:3:0.5", 0.1, 10);
        assertThat(step.at(1)).isEqualTo(0.1);
        assertThat(step.at(3)).isEqualTo(0.1);
        assertThat(step.at(4)).isEqualTo(0.05);
        assertThat(step.at(7)).isEqualTo(0.025);
        assertThat(LearningRates.parse("exp:0.9", 1, 10).at(3)).isCloseTo(0.81, within(1e-12));
        LearningRates cosine = LearningRates.parse("cosine", 1, 4);
        assertThat(cosine.at(1)).isEqualTo(1.0);
        assertThat(cosine.at(3)).isCloseTo(0.5, within(1e-12));
        assertThatThrownBy(() -> LearningRates.parse("step:0:0.5", 1, 4))
                .hasMessage("learning-rate schedule needs N >= 1 and 0 < G <= 1, got 'step:0:0.5'");
        assertThatThrownBy(() -> LearningRates.parse("warmup", 1, 4))
                .hasMessage("learning-rate schedule must be constant, step:N:G, exp:G or cosine, got 'warmup'");
    }

    @Test
    void offHeapLimitsMustFitTheExecutorContainer() {
        assertThat(OffHeapLimits.verdict(6 * 1024 * MIB, 5 * 1024 * MIB, 3 * 1024 * MIB, 10 * 1024 * MIB)).isNull();
        assertThat(OffHeapLimits.verdict(6 * 1024 * MIB, 2 * 1024 * MIB, 3 * 1024 * MIB, null))
                .isEqualTo("ND4J off-heap limit does not fit the executor container: -Dorg.bytedeco.javacpp.maxbytes=3072m"
                        + " exceeds spark.executor.memoryOverhead=2048m");
        assertThat(OffHeapLimits.verdict(6 * 1024 * MIB, 5 * 1024 * MIB, null, 12 * 1024 * MIB))
                .contains("maxphysicalbytes=12288m exceeds spark.executor.memory + memoryOverhead = 11264m");
        assertThat(OffHeapLimits.verdict(6 * 1024 * MIB, 5 * 1024 * MIB, 3 * 1024 * MIB, 8 * 1024 * MIB))
                .contains("is below heap (6144m) + maxbytes (3072m)");

        SparkConf cluster = new SparkConf(false).set("spark.master", "yarn").set("spark.executor.memory", "6g")
                .set("spark.executor.memoryOverhead", "1g")
                .set("spark.executor.extraJavaOptions", "-Dfoo=1 -Dorg.bytedeco.javacpp.maxbytes=3g");
        assertThatThrownBy(() -> OffHeapLimits.check(cluster))
                .hasMessageContaining("maxbytes=3072m exceeds spark.executor.memoryOverhead=1024m");
        // the default overhead is max(384m, 10% of the heap)
        SparkConf small = new SparkConf(false).set("spark.master", "spark://h:7077").set("spark.executor.memory", "2g")
                .set("spark.executor.extraJavaOptions", "-Dorg.bytedeco.javacpp.maxbytes=512m");
        assertThatThrownBy(() -> OffHeapLimits.check(small)).hasMessageContaining("memoryOverhead=384m");
        OffHeapLimits.check(new SparkConf(false).set("spark.master", "local[2]")
                .set("spark.executor.extraJavaOptions", "-Dorg.bytedeco.javacpp.maxbytes=64g"));
    }
}
