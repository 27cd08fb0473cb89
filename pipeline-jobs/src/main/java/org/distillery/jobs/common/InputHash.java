package org.distillery.jobs.common;

import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.catalyst.expressions.XXH64;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.Platform;
import org.distillery.model.schema.TransferSchema;

/**
 * The input hash stored with each soft-target row ({@code input_hash}), which incremental labeling compares to find
 * new and changed transfer rows: XXH64 (seed 42) of the row's features as little-endian float32 bytes, then, when
 * the row has a label, Spark's {@code XXH64.hashInt(label, that hash)}. One bulk hash over the row's bytes: Spark's
 * {@code xxhash64(features, label)}, hashing value by value in one serial chain, cost 5.3 us per 784-feature row
 * against 0.19 here (docs/PERFORMANCE.md, "Label job").
 *
 * <p>Outputs carry {@link #FACT} = {@link #VERSION} in their manifests; an output without it was hashed value by value
 * (version 1), and an incremental run over it relabels every row once, saying why.
 */
public final class InputHash {
    /** The manifest fact naming how {@code input_hash} was computed. */
    public static final String FACT = "inputHash";
    /** This build's input hash. */
    public static final String VERSION = "xxhash64-float32-le-bytes/2";
    /** What an output without {@link #FACT} used: Spark's {@code xxhash64(features, label)}, value by value. */
    public static final String VERSION_1 = "spark-xxhash64-values/1";
    static final long SEED = 42L;

    private InputHash() {
    }

    /** The input hash of the row whose {@code count} features start at {@code x[offset]}, with its label or null. */
    public static long of(float[] x, int offset, int count, Integer label) {
        long h = XXH64.hashUnsafeBytes(x, Platform.FLOAT_ARRAY_OFFSET + 4L * offset, 4 * count, SEED);
        return label == null ? h : XXH64.hashInt(label, h);
    }

    /** The input hash version of a published output's manifest facts. */
    public static String version(Map<String, Object> facts) {
        Object v = facts.get(FACT);
        return v == null ? VERSION_1 : v.toString();
    }

    private static final UserDefinedFunction UDF = functions.udf((UDF2<scala.collection.Seq<Object>, Integer, Long>)
            (features, label) -> {
                if (features == null) { // the job refuses the row, naming its id
                    return null;
                }
                float[] x = new float[features.size()];
                scala.collection.Iterator<Object> it = features.iterator();
                for (int i = 0; i < x.length; i++) {
                    Object v = it.next();
                    x[i] = v == null ? Float.NaN : (Float) v; // a null element is refused as NaN
                }
                return of(x, 0, x.length, label);
            }, DataTypes.LongType);

    /** The input hash of transfer rows as a Spark column over their features and label. */
    public static Column column() {
        return UDF.apply(functions.col(TransferSchema.FEATURES), functions.col(TransferSchema.LABEL));
    }
}
