package org.distillery.jobs.common;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.xxhash64;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.Windowing;

/**
 * Windows of documents as a text transfer table ({@link TextTransferSchema}), for every job that writes one (ingest
 * from a corpus, generate from a teacher's samples): each window keyed by its document's key, and the ids derived from
 * the keys in one place, so that the same key always gives the same document and window ids.
 */
public final class TextWindows {
    /** A window with its document's key, before the ids are derived ({@link #keyed}). */
    public static final StructType KEYED = new StructType().add("key", DataTypes.StringType, false)
            .add(TextTransferSchema.WINDOW, DataTypes.IntegerType, false)
            .add(TextTransferSchema.START, DataTypes.IntegerType, false)
            .add(TextTransferSchema.TOKENS, DataTypes.createArrayType(DataTypes.IntegerType, false), false)
            .add(TextTransferSchema.SCORED_FROM, DataTypes.IntegerType, false)
            .add(TextTransferSchema.SCORED_TO, DataTypes.IntegerType, false);

    private TextWindows() {
    }

    /** Window {@code w} of document {@code key}, a row of {@link #KEYED}. */
    public static Row keyed(String key, Windowing.Window w) {
        return RowFactory.create(key, w.index(), w.start(), TextTransferSchema.tokens(w), w.scoredFrom(),
                w.scoredTo());
    }

    /**
     * The text transfer table of {@code keyed} windows, in the schema's column order: {@code id} =
     * {@code xxhash64(key, window)}, {@code document} = {@code xxhash64(key)} (Spark SQL, seed 42).
     */
    public static Dataset<Row> table(SparkSession spark, JavaRDD<Row> keyed) {
        Column key = col("key");
        return spark.createDataFrame(keyed, KEYED).select(
                xxhash64(key, col(TextTransferSchema.WINDOW)).as(TextTransferSchema.ID),
                xxhash64(key).as(TextTransferSchema.DOCUMENT), key.as(TextTransferSchema.DOCUMENT_KEY),
                col(TextTransferSchema.WINDOW), col(TextTransferSchema.START), col(TextTransferSchema.TOKENS),
                col(TextTransferSchema.SCORED_FROM), col(TextTransferSchema.SCORED_TO));
    }
}
