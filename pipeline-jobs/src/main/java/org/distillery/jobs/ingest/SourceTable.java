package org.distillery.jobs.ingest;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.NumericType;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.jobs.ingest.IngestConfig.Source;

/**
 * The source as a Spark table, read by Spark's own readers ({@code spark.read().format(F).options(...)}, or the
 * catalog for {@code table}), and the typed lookups of its columns that ingest's checks name in their messages.
 */
final class SourceTable {
    private final Dataset<Row> rows;
    private final String where;

    SourceTable(Dataset<Row> rows, String where) {
        this.rows = rows;
        this.where = where;
    }

    /** Reads a Spark source (every format but idx); a missing path or table is an input error naming it. */
    static SourceTable read(SparkSession spark, Source source) {
        String where = source.format().id() + " source " + source.location();
        try {
            Dataset<Row> rows = source.format() == Format.TABLE ? spark.table(source.location())
                    : spark.read().format(source.format().id()).options(source.options()).load(source.location());
            return new SourceTable(rows, where);
        } catch (Exception e) {
            if (e instanceof AnalysisException || e.getClass().getName().contains("AnalysisException")) {
                throw new IllegalArgumentException("cannot read " + where + ": " + firstLine(e.getMessage()), e);
            }
            throw e;
        }
    }

    Dataset<Row> rows() {
        return rows;
    }

    /** How messages name the source: {@code csv source /data/x.csv}. */
    String where() {
        return where;
    }

    /** The type of column {@code name} (a nested field as {@code a.b}), or an input error listing the columns. */
    DataType type(String name, String role) {
        try {
            return rows.select(functions.col(name)).schema().fields()[0].dataType();
        } catch (Exception e) {
            throw new IllegalArgumentException(role + " column '" + name + "' not found in " + where + " (columns: "
                    + String.join(", ", rows.columns()) + ")");
        }
    }

    boolean has(String name) {
        return Arrays.asList(rows.columns()).contains(name);
    }

    List<String> columns() {
        return List.of(rows.columns());
    }

    static Column col(String name) {
        return functions.col(name);
    }

    static boolean integral(DataType t) {
        return t.equals(DataTypes.LongType) || t.equals(DataTypes.IntegerType) || t.equals(DataTypes.ShortType)
                || t.equals(DataTypes.ByteType) || t instanceof DecimalType d && d.scale() == 0 && d.precision() <= 18;
    }

    /** Types a feature value may have: numbers, or strings holding numbers (a CSV read without inferSchema). */
    static boolean numericOrText(DataType t) {
        return t instanceof NumericType || t.equals(DataTypes.StringType);
    }

    static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }
}
