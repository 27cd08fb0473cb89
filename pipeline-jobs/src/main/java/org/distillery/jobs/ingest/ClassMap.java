package org.distillery.jobs.ingest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * Class names and how a row's label becomes a class index: a string label is the index of its name (names sorted, or
 * as given by {@code --classes}); an integer label is the index itself (names from {@code --classes}, else "0" to
 * the largest label); no label column: every row unlabelled. Null is unlabelled either way.
 *
 * @param kind  what the label column holds
 * @param names class names in index order
 * @param rule  how the manifest describes the mapping
 */
record ClassMap(Kind kind, List<String> names, String rule) {
    enum Kind { NONE, INT, STRING }

    /** Distinct label values seen, each with its row count and one row's id (for messages). */
    record Seen(Object value, long rows, String sampleId) {
    }

    ClassMap {
        if (names.size() < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + names.size() + " "
                    + names);
        }
    }

    /**
     * The class map of a label column with these distinct values.
     *
     * @param column   the label column (null: none)
     * @param given    names given with {@code --classes} or recorded by {@code --transform-from}; empty: derived
     * @param givenBy  how messages name where {@code given} came from
     */
    static ClassMap of(Kind kind, String column, List<Seen> seen, List<String> given, String givenBy) {
        List<Seen> labelled = seen.stream().filter(s -> s.value() != null).toList();
        switch (kind) {
            case NONE:
                if (given.isEmpty()) {
                    throw new IllegalArgumentException("without --label every row is unlabelled: name the classes with"
                            + " --classes a,b,c (the class count must be known)");
                }
                return new ClassMap(kind, given, "no label column: every row unlabelled; classes from " + givenBy);
            case STRING: {
                if (given.isEmpty()) {
                    TreeSet<String> sorted = new TreeSet<>();
                    labelled.forEach(s -> sorted.add((String) s.value()));
                    return new ClassMap(kind, new ArrayList<>(sorted), "string column " + column
                            + ": class index = position of the label among the distinct labels, sorted");
                }
                for (Seen s : labelled) {
                    if (!given.contains((String) s.value())) {
                        throw new IllegalArgumentException("label '" + s.value() + "' in column '" + column
                                + "' is not one of the classes " + given + " (" + givenBy + "); " + s.rows()
                                + " row(s) have it: row id " + s.sampleId());
                    }
                }
                return new ClassMap(kind, given, "string column " + column + ": class index = position of the label"
                        + " in " + givenBy);
            }
            default: {
                long max = -1;
                for (Seen s : labelled) {
                    long v = ((Number) s.value()).longValue();
                    long limit = given.isEmpty() ? Integer.MAX_VALUE : given.size();
                    if (v < 0 || v >= limit) {
                        throw new IllegalArgumentException("label " + v + " in column '" + column + "' is out of range"
                                + " [0, " + limit + ")" + (given.isEmpty() ? "" : " (" + given.size() + " classes from "
                                + givenBy + ")") + "; " + s.rows() + " row(s) have it: row id " + s.sampleId());
                    }
                    max = Math.max(max, v);
                }
                if (!given.isEmpty()) {
                    return new ClassMap(kind, given, "integer column " + column + ": the class index; names from "
                            + givenBy);
                }
                if (max < 0) {
                    throw new IllegalArgumentException("label column '" + column + "' is null in every row: name the"
                            + " classes with --classes a,b,c");
                }
                return new ClassMap(kind, IntStream.rangeClosed(0, (int) max).mapToObj(Integer::toString).toList(),
                        "integer column " + column + ": the class index; classes 0.." + max + " (the largest label)");
            }
        }
    }

    int classes() {
        return names.size();
    }

    /** The class index of a raw label value (null for unlabelled rows). */
    Column index(Column raw) {
        return switch (kind) {
            case NONE -> functions.lit(null).cast(DataTypes.IntegerType);
            case INT -> raw.cast(DataTypes.IntegerType);
            case STRING -> functions.array_position(functions.lit(names.toArray(String[]::new)), raw).minus(1)
                    .cast(DataTypes.IntegerType);
        };
    }

    /** The class index of a value collected from the table (null stays null). */
    Integer indexOf(Object value) {
        if (value == null) {
            return null;
        }
        return kind == Kind.STRING ? names.indexOf((String) value) : ((Number) value).intValue();
    }

    Map<String, Object> facts() {
        return Map.of("rule", rule, "names", names);
    }
}
