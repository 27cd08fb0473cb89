package org.distillery.jobs.common;

import static org.apache.spark.sql.functions.col;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.distillery.model.data.Stratified;
import org.distillery.model.schema.TransferSchema;

/**
 * The labelled rows {@code --labelled N --seed S} keeps: N rows stratified by class (quotas by
 * {@link Stratified#quotas}), within each class those ranked first by {@link Stratified#rank}(S, id). One rule for
 * train (which keeps only these rows' labels) and augment (which widens only these rows), so both see the same rows.
 */
public final class LabelledSelection {
    private LabelledSelection() {
    }

    /** Ids of {@code n} labelled rows of {@code rows} (columns id, label); all of them when there are fewer. */
    public static Set<Long> select(SparkSession spark, Dataset<Row> rows, int n, long seed, int classes) {
        Dataset<Row> labelled = rows.filter(col(TransferSchema.LABEL).isNotNull())
                .select(TransferSchema.ID, TransferSchema.LABEL);
        long[] counts = new long[classes];
        for (Row r : labelled.groupBy(TransferSchema.LABEL).count().collectAsList()) {
            int label = r.getInt(0);
            if (label < 0 || label >= classes) {
                long id = labelled.filter(col(TransferSchema.LABEL).equalTo(label)).first().getLong(0);
                throw new IllegalArgumentException("label " + label + " out of range [0, " + classes + ") for id " + id
                        + " (null marks a row without a label)");
            }
            counts[label] = r.getLong(1);
        }
        long[] quota = Stratified.quotas(counts, Math.min(n, Arrays.stream(counts).sum()));
        spark.udf().register("distillery_rank", (Long id) -> Stratified.rank(seed, id), DataTypes.LongType);
        Column[] quotaMap = new Column[2 * classes];
        for (int c = 0; c < classes; c++) {
            quotaMap[2 * c] = functions.lit(c);
            quotaMap[2 * c + 1] = functions.lit(quota[c]);
        }
        Dataset<Row> chosen = labelled
                .withColumn("rank", functions.call_udf("distillery_rank", col(TransferSchema.ID)))
                .withColumn("rn", functions.row_number().over(Window.partitionBy(TransferSchema.LABEL).orderBy("rank")))
                .filter(col("rn").leq(functions.element_at(functions.map(quotaMap), col(TransferSchema.LABEL))));
        Set<Long> ids = new HashSet<>();
        for (Row r : chosen.select(TransferSchema.ID).collectAsList()) {
            ids.add(r.getLong(0));
        }
        return ids;
    }
}
