package org.distillery.jobs.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.nn.LanguageModels;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.distillery.model.schema.TokenSoftTargetSchema;
import org.distillery.model.text.Windowing;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Token soft targets as the label job will publish them ({@link TokenSoftTargetSchema} v1, top-K fp32), written here
 * from a teacher LM in memory: the trainer's tests need them before the label job exists. Teacher NLL, entropy and
 * input hash are zeros (the trainer reads none of them).
 */
final class TokenSoftTargetFixtures {
    private TokenSoftTargetFixtures() {
    }

    /** Labels every window of the text transfer set at {@code transfer} with {@code teacher}'s top {@code k} logits. */
    static String publish(SparkSession spark, String transfer, MultiLayerNetwork teacher, int k, double temperature,
                          String path) {
        Storage storage = Storage.of(spark);
        ResolvedInput in = ResolvedInput.published(storage, transfer);
        Manifest tm = in.manifest();
        int v = (int) tm.number(TextTransferSchema.VOCABULARY_SIZE);
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(v, "fp32", k);
        TokenSoftTargetCodec codec = new TokenSoftTargetCodec(layout);
        List<Row> rows = new ArrayList<>();
        for (Row r : TransferTables.readTransfer(spark, in).rows().collectAsList()) {
            int[] tokens = TransferTables.ints(r, 5);
            Windowing.Window w = TextTransferSchema.window(r.getInt(3), r.getInt(4), tokens, r.getInt(6), r.getInt(7));
            INDArray z = LanguageModels.logits(teacher, new int[][] {w.inputs()});
            float[][] scored = new float[w.scored()][v];
            for (int p = 0; p < scored.length; p++) {
                for (int c = 0; c < v; c++) {
                    scored[p][c] = z.getFloat(0, c, w.scoredFrom() + p);
                }
            }
            Object[] stored = codec.encode(scored);
            rows.add(RowFactory.create(r.getLong(0), r.getLong(1), r.getInt(3), r.getList(5), r.getInt(6), r.getInt(7),
                    boxed((int[]) stored[0]), boxed((float[]) stored[1]), boxed((float[]) stored[2]), 0.0, 0.0, 0L));
        }
        try (StagedOutput out = StagedOutput.begin(storage, path)) {
            TransferTables.write(spark.createDataFrame(rows, schema()).repartition(2), out.stagingDir());
            Map<String, Object> facts = TokenSoftTargetSchema.facts(layout);
            facts.put(SoftTargetSchema.TEMPERATURE, temperature);
            facts.put(TextTransferSchema.VOCABULARY_SHA256, tm.text(TextTransferSchema.VOCABULARY_SHA256));
            facts.put(TextTransferSchema.WINDOW_LENGTH, (int) tm.number(TextTransferSchema.WINDOW_LENGTH));
            facts.put(TextTransferSchema.BURN_IN, (int) tm.number(TextTransferSchema.BURN_IN));
            facts.put("rows", rows.size());
            out.publish(Manifest.sealed("label", Map.of("fixture", path), Map.of("transfer", in.asInput()), facts,
                    Map.of(), null), rows.size(), System.nanoTime());
            return out.target();
        }
    }

    private static StructType schema() {
        return new StructType(new StructField[] {
            DataTypes.createStructField(TokenSoftTargetSchema.ID, DataTypes.LongType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.DOCUMENT, DataTypes.LongType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.WINDOW, DataTypes.IntegerType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.TOKENS, DataTypes.createArrayType(DataTypes.IntegerType),
                    false),
            DataTypes.createStructField(TokenSoftTargetSchema.SCORED_FROM, DataTypes.IntegerType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.SCORED_TO, DataTypes.IntegerType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.TOPK_INDEX,
                    DataTypes.createArrayType(DataTypes.IntegerType), false),
            DataTypes.createStructField(TokenSoftTargetSchema.TOPK_LOGIT, DataTypes.createArrayType(DataTypes.FloatType),
                    false),
            DataTypes.createStructField(TokenSoftTargetSchema.TAIL_LSE, DataTypes.createArrayType(DataTypes.FloatType),
                    false),
            DataTypes.createStructField(TokenSoftTargetSchema.TEACHER_NLL, DataTypes.DoubleType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.TEACHER_ENTROPY, DataTypes.DoubleType, false),
            DataTypes.createStructField(TokenSoftTargetSchema.INPUT_HASH, DataTypes.LongType, false)});
    }

    private static List<Integer> boxed(int[] v) {
        return Arrays.stream(v).boxed().toList();
    }

    private static List<Float> boxed(float[] v) {
        List<Float> out = new ArrayList<>(v.length);
        for (float f : v) {
            out.add(f);
        }
        return out;
    }
}
