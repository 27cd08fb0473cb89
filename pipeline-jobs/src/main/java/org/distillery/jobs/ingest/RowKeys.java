package org.distillery.jobs.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.storage.StorageLevel;

/**
 * The keys pass: one read of each row's id, label and split value (cached: a few dozen bytes a row), which checks the
 * ids (none null, none repeated), collects the distinct labels with their counts (the class map needs them before
 * any row is written) and the split values, and, for {@code --split validation=F,test=F}, finds each class's rank
 * thresholds, so that the write pass assigns a row's split by comparing the hash of its id with its class's
 * threshold: exactly round(F x rows of the class) rows of each class (and of the unlabelled rows), the same rows on
 * every rerun, whatever the partitioning.
 */
final class RowKeys implements AutoCloseable {
    /** Label values beyond this many distinct ones are not class labels (a float or id column given by mistake). */
    static final int MAX_CLASSES = 100_000;

    /** Rows with one (label, split) value pair; {@code sampleId} is one of them, for messages. */
    record Group(Object label, String split, long rows, long nullIds, String sampleId) {
    }

    private final Dataset<Row> keys;
    private final List<Group> groups;

    private RowKeys(Dataset<Row> keys, List<Group> groups) {
        this.keys = keys;
        this.groups = groups;
    }

    /**
     * Scans the keys of {@code source} and checks the ids.
     *
     * @param ids           the row id (long), its text for messages and whether its source value is null
     * @param label         the raw label value (null literal without a label column)
     * @param split         the split value, or null when the job assigns splits itself
     * @param idColumns     how messages name the id column(s)
     * @param uniquePerSplit whether ids need only be unique within a split (idx: each file counts from 0)
     */
    static RowKeys scan(Dataset<Row> source, RowIds ids, Column label, Column split, boolean uniquePerSplit) {
        Dataset<Row> keys = source.select(ids.id().as("k_id"), ids.text().as("k_text"), ids.isNull().as("k_null"),
                label.as("k_label"), (split == null ? lit(null).cast("string") : split.cast("string")).as("k_split"))
                .persist(StorageLevel.MEMORY_AND_DISK());
        List<Row> grouped = keys.groupBy("k_label", "k_split")
                .agg(count(lit(1)), sum(when(col("k_null"), 1).otherwise(0)), min("k_text"))
                .limit(3 * MAX_CLASSES + 1).collectAsList();
        if (grouped.size() > 3 * MAX_CLASSES) {
            throw new IllegalArgumentException("label column has more than " + MAX_CLASSES + " distinct values: it does"
                    + " not hold class labels");
        }
        List<Group> groups = new ArrayList<>();
        for (Row r : grouped) {
            groups.add(new Group(r.get(0), r.getString(1), r.getLong(2), r.getLong(3), r.getString(4)));
        }
        RowKeys k = new RowKeys(keys, groups);
        try {
            k.checkIds(ids, uniquePerSplit);
        } catch (RuntimeException e) {
            k.close();
            throw e;
        }
        return k;
    }

    private void checkIds(RowIds ids, boolean uniquePerSplit) {
        long nulls = groups.stream().mapToLong(Group::nullIds).sum();
        if (nulls > 0) {
            throw new IllegalArgumentException("null id: " + nulls + " row(s) have no value in " + ids.describe()
                    + " (every row needs an id)");
        }
        Column[] by = uniquePerSplit ? new Column[] {col("k_split"), col("k_id")} : new Column[] {col("k_id")};
        // counts by id alone (a hash aggregation of longs); the texts only of a repeated id, for the message
        List<Row> dup = keys.groupBy(by).agg(count(lit(1)).as("n")).where(col("n").gt(1)).limit(1).collectAsList();
        if (!dup.isEmpty()) {
            Row d = dup.get(0);
            Column same = col("k_id").equalTo(lit(d.getLong(d.fieldIndex("k_id"))));
            if (uniquePerSplit) {
                same = same.and(col("k_split").eqNullSafe(lit(d.getString(d.fieldIndex("k_split")))));
            }
            Row texts = keys.where(same).agg(min("k_text"), max("k_text")).first();
            String a = texts.getString(0);
            String b = texts.getString(1);
            long n = d.getLong(d.fieldIndex("n"));
            throw new IllegalArgumentException(a.equals(b)
                    ? "duplicate id " + a + ": " + n + " rows have it in " + ids.describe() + " (ids must be unique)"
                    : "ids " + a + " and " + b + " hash to the same 64-bit id (" + ids.describe() + "); ids must be"
                    + " unique: use --id-from with more columns");
        }
    }

    /** The distinct labels, each with its row count and one row's id. */
    List<ClassMap.Seen> labels() {
        Map<Object, long[]> rows = new LinkedHashMap<>();
        Map<Object, String> sample = new HashMap<>();
        for (Group g : groups) {
            rows.computeIfAbsent(g.label(), x -> new long[1])[0] += g.rows();
            sample.merge(g.label(), g.sampleId(), (x, y) -> x.compareTo(y) <= 0 ? x : y);
        }
        List<ClassMap.Seen> seen = new ArrayList<>();
        rows.forEach((v, n) -> seen.add(new ClassMap.Seen(v, n[0], sample.get(v))));
        return seen;
    }

    /** Checks a split column's values: train, validation or test in every row. */
    void checkSplitValues(String column) {
        for (Group g : groups) {
            if (g.split() == null || !IngestConfig.SPLITS.contains(g.split())) {
                throw new IllegalArgumentException("split column '" + column + "' has "
                        + (g.split() == null ? "null" : "value '" + g.split() + "'") + " (expected train, validation or"
                        + " test): row id " + g.sampleId());
            }
        }
    }

    /** Rows per split value, as the scan counted them (for a split column or idx). */
    Map<String, Long> rowsBySplit() {
        Map<String, Long> n = new LinkedHashMap<>();
        groups.forEach(g -> n.merge(String.valueOf(g.split()), g.rows(), Long::sum));
        return n;
    }

    long rows() {
        return groups.stream().mapToLong(Group::rows).sum();
    }

    /**
     * The split of each row for hash fractions: per stratum (class index, or unlabelled), the rows whose
     * {@code xxhash64(seed, id)} ranks among the first round(test x n) go to test, the next round((test + validation)
     * x n) - round(test x n) to validation, the rest to train. Returns the expression over the source's id and
     * class-index columns and the rows each split will get.
     */
    Fractions fractions(ClassMap classes, long seed, double validation, double test) {
        int c = classes.classes();
        long[] n = new long[c + 1]; // index c: unlabelled
        for (ClassMap.Seen s : labels()) {
            Integer idx = classes.indexOf(s.value());
            n[idx == null ? c : idx] += s.rows();
        }
        long[] toTest = new long[c + 1];
        long[] toValidation = new long[c + 1];
        Map<String, Long> rows = new LinkedHashMap<>();
        for (int s = 0; s <= c; s++) {
            toTest[s] = Math.round(test * n[s]);
            toValidation[s] = Math.round((test + validation) * n[s]) - toTest[s];
            rows.merge("test", toTest[s], Long::sum);
            rows.merge("validation", toValidation[s], Long::sum);
            rows.merge("train", n[s] - toTest[s] - toValidation[s], Long::sum);
        }
        long[] testRank = toTest.clone();
        long[] validationRank = new long[c + 1];
        for (int s = 0; s <= c; s++) {
            validationRank[s] = toValidation[s] == 0 ? 0 : toTest[s] + toValidation[s];
        }
        Column idx = classes.index(col("k_label"));
        Column stratum = when(idx.isNull(), lit(c)).otherwise(idx);
        Dataset<Row> hashed = keys.select(stratum.as("s"), xxhash64(lit(seed), col("k_id")).as("h"));
        // The r-th smallest of n hashes (uniform over the 64-bit range) lies near the r/n quantile: rank only the rows
        // below a bound a little above each stratum's largest wanted rank (all of a stratum's rows that rank first),
        // and all rows in the rare case the bound kept too few. Exact either way; the sort is of a fraction F of rows.
        long[] bound = new long[c + 1];
        for (int s = 0; s <= c; s++) {
            long want = Math.max(testRank[s], validationRank[s]);
            double q = n[s] == 0 ? 0 : (want + 6 * Math.sqrt(want) + 16) / n[s];
            bound[s] = want == 0 ? Long.MIN_VALUE : q >= 1 ? Long.MAX_VALUE : (long) ((q - 0.5) * 0x1p64);
        }
        long[] testBelow = new long[c + 1];
        long[] validationBelow = new long[c + 1];
        boolean[] found = new boolean[c + 1];
        for (boolean everyRow : new boolean[] {false, true}) {
            Dataset<Row> candidates = everyRow ? hashed
                    : hashed.where(col("h").leq(element_at(lit(bound), col("s").plus(1))));
            Dataset<Row> ranked = candidates.withColumn("rn", row_number().over(Window.partitionBy("s").orderBy("h")));
            for (int s = 0; s <= c; s++) {
                found[s] = testRank[s] == 0 && validationRank[s] == 0;
            }
            Column rank = col("rn");
            Column at = col("s").plus(1);
            for (Row r : ranked.where(rank.equalTo(element_at(lit(testRank), at))
                    .or(rank.equalTo(element_at(lit(validationRank), at)))).collectAsList()) {
                int s = r.getInt(0);
                if (r.getInt(2) == testRank[s]) {
                    testBelow[s] = r.getLong(1);
                }
                if (r.getInt(2) == validationRank[s]) {
                    validationBelow[s] = r.getLong(1);
                }
                found[s] |= r.getInt(2) == Math.max(testRank[s], validationRank[s]);
            }
            boolean all = true;
            for (boolean f : found) {
                all &= f;
            }
            if (all) {
                break;
            }
        }
        boolean[] hasTest = new boolean[c + 1];
        boolean[] hasValidation = new boolean[c + 1];
        for (int s = 0; s <= c; s++) {
            hasTest[s] = testRank[s] > 0;
            hasValidation[s] = validationRank[s] > 0;
        }
        return new Fractions(seed, c, testBelow, hasTest, validationBelow, hasValidation, rows);
    }

    /** Per-stratum hash thresholds; {@link #split} assigns a row by its id and class index. */
    record Fractions(long seed, int classes, long[] testBelow, boolean[] hasTest, long[] validationBelow,
                     boolean[] hasValidation, Map<String, Long> rows) {
        Column split(Column id, Column classIndex) {
            Column s = when(classIndex.isNull(), lit(classes)).otherwise(classIndex).plus(1);
            Column h = xxhash64(lit(seed), id);
            return when(element_at(lit(hasTest), s).and(h.leq(element_at(lit(testBelow), s))), lit("test"))
                    .when(element_at(lit(hasValidation), s).and(h.leq(element_at(lit(validationBelow), s))),
                            lit("validation"))
                    .otherwise(lit("train"));
        }
    }

    @Override
    public void close() {
        keys.unpersist(false);
    }
}
