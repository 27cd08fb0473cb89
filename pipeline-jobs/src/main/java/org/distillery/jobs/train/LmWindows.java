package org.distillery.jobs.train;

import static org.apache.spark.sql.functions.col;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.train.averaging.TrainerSettings;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.NextTokenMetrics;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The windows of an LM run: the training windows (with the teacher's logits for kd) as minibatches cut into averaging rounds, exactly as
 * {@link TrainingRows#minibatches} cuts classifier rows (a seeded hash order of the ids, blocks of batch x averaging
 * frequency windows, one partition each), and the validation windows on the driver, scored as bits per character.
 */
public final class LmWindows {
    private static final String[] COLUMNS = {TextTransferSchema.ID, TextTransferSchema.TOKENS,
        TextTransferSchema.SCORED_FROM, TextTransferSchema.SCORED_TO};
    private static final int SCORING_BATCH = 64;

    private LmWindows() {
    }

    /**
     * The training windows {@code rows} ({@code count} of them, with the teacher's stored logits in {@code layout} for
     * kd, null for hard) as persisted minibatches, partitioned into rounds.
     */
    static JavaRDD<DataSet> minibatches(Dataset<Row> rows, long count, int vocabulary, int windowLength,
                                        SoftTargetLayout layout, double temperature, TrainerSettings settings,
                                        StorageLevel storageLevel) {
        long perPartition = (long) settings.batchSize() * settings.averagingFrequency();
        int partitions = settings.partitionsFor(count);
        return seededOrder(rows.select(ToWindowBatches.columns(layout).stream().map(functions::col)
                        .toArray(Column[]::new)), settings.seed())
                .javaRDD()
                .zipWithIndex()
                .mapToPair(rowAndIndex -> new scala.Tuple2<>(rowAndIndex._2() / perPartition, rowAndIndex._1()))
                .partitionBy(new TrainingRows.ExactPartitioner(partitions))
                .values()
                .mapPartitions(new ToWindowBatches(vocabulary, windowLength, settings.batchSize(),
                        settings.averagingFrequency(), layout, temperature))
                .persist(storageLevel);
    }

    /** {@code rows} in the seeded order of their ids that every LM run of that seed trains in. */
    static Dataset<Row> seededOrder(Dataset<Row> rows, long seed) {
        return rows.orderBy(functions.xxhash64(col(TextTransferSchema.ID), functions.lit(seed)));
    }

    /**
     * The first {@code windows} windows of {@code rows} in the seeded order (all of them when null): the same windows
     * whether {@code rows} is a text transfer set or token soft targets labelled from it.
     */
    static Dataset<Row> slice(Dataset<Row> rows, Integer windows, long seed) {
        return windows == null ? rows : seededOrder(rows, seed).limit(windows);
    }

    /** The scored tokens (characters predicted) of {@code rows}. */
    static long scoredTokens(Dataset<Row> rows) {
        Row sum = rows.agg(functions.sum(col(TextTransferSchema.SCORED_TO).minus(col(TextTransferSchema.SCORED_FROM))))
                .first();
        return sum.isNullAt(0) ? 0 : sum.getLong(0);
    }

    /**
     * Every window of {@code rows} in id order, checked, on the driver (a validation or test split: small next to
     * training).
     */
    public static List<Windowing.Window> collect(Dataset<Row> rows, int vocabulary, int windowLength) {
        List<Windowing.Window> out = new ArrayList<>();
        for (Row r : rows.select(COLUMNS[0], COLUMNS[1], COLUMNS[2], COLUMNS[3]).orderBy(TextTransferSchema.ID)
                .collectAsList()) {
            out.add(ToWindowBatches.window(r, vocabulary, windowLength));
        }
        return out;
    }

    /** Next-token metrics of {@code lm} over the scored positions of {@code windows} (burn-in and padding left out). */
    public static NextTokenMetrics score(MultiLayerNetwork lm, List<Windowing.Window> windows) {
        NextTokenMetrics metrics = new NextTokenMetrics(NextTokenMetrics.DEFAULT_BINS);
        for (int from = 0; from < windows.size(); from += SCORING_BATCH) {
            List<Windowing.Window> batch = windows.subList(from, Math.min(windows.size(), from + SCORING_BATCH));
            int t = batch.get(0).inputs().length;
            int[][] inputs = new int[batch.size()][];
            int[][] targets = new int[batch.size()][];
            float[] mask = new float[batch.size() * t];
            for (int i = 0; i < batch.size(); i++) {
                inputs[i] = batch.get(i).inputs();
                targets[i] = batch.get(i).targets();
                System.arraycopy(batch.get(i).mask(), 0, mask, i * t, t);
            }
            metrics.addBatch(LanguageModels.logits(lm, inputs), targets, Nd4j.create(mask, new long[] {batch.size(), t},
                    'c'));
        }
        return metrics;
    }
}
