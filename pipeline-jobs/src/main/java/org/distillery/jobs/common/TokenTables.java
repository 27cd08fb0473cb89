package org.distillery.jobs.common;

import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.schema.TokenSoftTargetSchema;

/** The Spark side of {@link TokenSoftTargetSchema}: its struct type, the input hash, stored values out of a row. */
public final class TokenTables {
    private TokenTables() {
    }

    /** The token soft-target table of {@code layout}, in {@link TokenSoftTargetSchema#columns} order. */
    public static StructType schema(SoftTargetLayout layout) {
        DataType values = layout.precision() == SoftTargetLayout.Precision.FP16 ? DataTypes.BinaryType
                : DataTypes.createArrayType(DataTypes.FloatType, false);
        DataType ints = DataTypes.createArrayType(DataTypes.IntegerType, false);
        Map<String, DataType> types = Map.ofEntries(
                Map.entry(TokenSoftTargetSchema.ID, DataTypes.LongType),
                Map.entry(TokenSoftTargetSchema.DOCUMENT, DataTypes.LongType),
                Map.entry(TokenSoftTargetSchema.WINDOW, DataTypes.IntegerType),
                Map.entry(TokenSoftTargetSchema.TOKENS, ints),
                Map.entry(TokenSoftTargetSchema.SCORED_FROM, DataTypes.IntegerType),
                Map.entry(TokenSoftTargetSchema.SCORED_TO, DataTypes.IntegerType),
                Map.entry(TokenSoftTargetSchema.TOPK_INDEX, ints),
                Map.entry(TokenSoftTargetSchema.TOPK_LOGIT, values),
                Map.entry(TokenSoftTargetSchema.TAIL_LSE, DataTypes.createArrayType(DataTypes.FloatType, false)),
                Map.entry(TokenSoftTargetSchema.LOGITS, values),
                Map.entry(TokenSoftTargetSchema.TEACHER_NLL, DataTypes.DoubleType),
                Map.entry(TokenSoftTargetSchema.TEACHER_ENTROPY, DataTypes.DoubleType),
                Map.entry(TokenSoftTargetSchema.INPUT_HASH, DataTypes.LongType));
        return new StructType(TokenSoftTargetSchema.columns(layout).stream()
                .map(c -> DataTypes.createStructField(c, types.get(c), false)).toArray(StructField[]::new));
    }

    /** The text transfer columns the label job reads, in the order {@code TokenInference} takes them. */
    public static final List<String> INPUT = List.of(TextTransferSchema.ID, TextTransferSchema.DOCUMENT,
            TextTransferSchema.WINDOW, TextTransferSchema.TOKENS, TextTransferSchema.SCORED_FROM,
            TextTransferSchema.SCORED_TO);

    /** A window's input hash, as stored: xxhash64(tokens, scored_from, scored_to). */
    public static Column inputHash() {
        return functions.xxhash64(functions.col(TextTransferSchema.TOKENS), functions.col(TextTransferSchema.SCORED_FROM),
                functions.col(TextTransferSchema.SCORED_TO));
    }

    /**
     * The stored logit columns of {@code layout}, found in {@code r} from field {@code from} on, as
     * {@link org.distillery.model.schema.TokenSoftTargetCodec} takes them (float[] or byte[] values, int[] indices,
     * float[] tails).
     */
    public static Object[] stored(Row r, int from, SoftTargetLayout layout) {
        boolean fp16 = layout.precision() == SoftTargetLayout.Precision.FP16;
        List<String> columns = layout.logitColumns();
        Object[] v = new Object[columns.size()];
        for (int k = 0; k < v.length; k++) {
            int i = from + k;
            if (r.isNullAt(i)) {
                throw new IllegalStateException("null " + columns.get(k) + " in a token soft-target row");
            }
            v[k] = switch (columns.get(k)) {
                case TokenSoftTargetSchema.TOPK_INDEX -> TransferTables.ints(r, i);
                case TokenSoftTargetSchema.TAIL_LSE -> TransferTables.floats(r, i);
                default -> fp16 ? r.<byte[]>getAs(i) : TransferTables.floats(r, i);
            };
        }
        return v;
    }
}
