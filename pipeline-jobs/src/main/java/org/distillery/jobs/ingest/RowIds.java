package org.distillery.jobs.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.xxhash64;

import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.distillery.jobs.ingest.IngestConfig.Format;

/**
 * The stable 64-bit row id, which incremental relabeling compares rows by: an integer column as it is; a string
 * column, or several columns ({@code --id-from}), hashed by Spark SQL's {@code xxhash64} (XXH64, seed 42; a string
 * hashes its UTF-8 bytes; several values are hashed in turn, each seeded by the hash so far), which anyone can
 * recompute with {@code SELECT xxhash64(col)}. Files read by the image and binaryFile sources default to their path.
 *
 * @param id       the id, a long
 * @param text     the id as messages name it: the number, or the source value(s) quoted
 * @param isNull   whether the source value (any of them) is null
 * @param describe how messages name the id column(s)
 * @param rule     how the manifest describes the id
 * @param columns  the source columns it reads (never features)
 */
record RowIds(Column id, Column text, Column isNull, String describe, String rule, List<String> columns) {
    static RowIds resolve(SourceTable table, IngestConfig.Columns c, Format format) {
        if (format == Format.IDX) {
            return new RowIds(col("id"), col("id").cast("string"), lit(false), "the IDX row index",
                    "the row's index in its IDX file (the train and t10k files each count from 0)", List.of("id"));
        }
        if (!c.idFrom().isEmpty()) {
            Column[] cols = c.idFrom().stream().map(n -> {
                table.type(n, "--id-from");
                return col(n);
            }).toArray(Column[]::new);
            Column anyNull = lit(false);
            Column[] parts = new Column[cols.length];
            for (int i = 0; i < cols.length; i++) {
                anyNull = anyNull.or(cols[i].isNull());
                parts[i] = concat(lit(c.idFrom().get(i) + "="), cols[i].cast("string"));
            }
            return new RowIds(xxhash64(cols), concat(lit("("), concat_ws(", ", parts), lit(")")), anyNull,
                    "id columns " + c.idFrom(), "xxhash64(" + String.join(", ", c.idFrom()) + ") (Spark SQL xxhash64,"
                    + " seed 42, of the columns' values in this order)", c.idFrom());
        }
        String name = c.id() != null ? c.id() : format == Format.IMAGE ? "image.origin"
                : format == Format.BINARY_FILE ? "path" : null;
        if (name == null) {
            throw new IllegalArgumentException("--id COL or --id-from COL,... is required for --format " + format.id()
                    + ": rows need an id that stays the same across reruns (label --mode incremental compares rows"
                    + " by id)");
        }
        DataType t = table.type(name, "id");
        if (SourceTable.integral(t)) {
            return new RowIds(col(name).cast(DataTypes.LongType), col(name).cast("string"), col(name).isNull(),
                    "id column '" + name + "'", "integer column " + name, List.of(name));
        }
        if (t.equals(DataTypes.StringType)) {
            return new RowIds(xxhash64(col(name)), concat(lit("'"), col(name), lit("'")), col(name).isNull(),
                    "id column '" + name + "'", "xxhash64(" + name + ") of the string column " + name + " (Spark SQL"
                    + " xxhash64: XXH64 of its UTF-8 bytes, seed 42)", List.of(name));
        }
        throw new IllegalArgumentException("id column '" + name + "' has type " + t.simpleString() + ": an id must be"
                + " an integer or a string column (or pass --id-from COL,... to hash several columns)");
    }
}
