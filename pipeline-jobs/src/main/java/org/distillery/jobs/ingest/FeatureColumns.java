package org.distillery.jobs.ingest;

import static org.apache.spark.sql.functions.abs;
import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.array_max;
import static org.apache.spark.sql.functions.array_min;
import static org.apache.spark.sql.functions.array_position;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.element_at;
import static org.apache.spark.sql.functions.isnan;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.when;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.UserDefinedType;

/**
 * Where a row's features come from, as Spark expressions: one array or Spark ML vector column, numeric columns, or
 * image bytes / image-source rows decoded by {@link ImageDecoder}. Array and column features are converted and
 * checked by Spark's own expressions: {@link #raw} is the float array, {@link #problem} a string naming the row's
 * first problem (null features, a length other than the first row's, a null or non-number, NaN or infinity, with the
 * column or index and the value) or null. The values a problem describes (which index, which value) are only
 * computed for a row that has one.
 *
 * @param kind    where the values come from
 * @param columns the source column(s)
 * @param raw     the untransformed values, array&lt;float&gt;
 * @param problem the row's first problem, or null: a string column (null when {@code kind} needs no check)
 * @param problemButInfinity the same without the infinity check, for a pass that checks finiteness in Java as it
 *                transforms the values (an array or vector column; for other kinds, {@code problem})
 * @param count   values per row
 * @param shape   the example shape, channels first for images
 */
record FeatureColumns(Kind kind, List<String> columns, Column raw, Column problem, Column problemButInfinity,
                      int count, List<Integer> shape) {
    enum Kind { ARRAY, VECTOR, COLUMNS, IMAGE_BYTES, IMAGE_ROWS }

    /** How the manifest describes it. */
    String describe() {
        return switch (kind) {
            case ARRAY -> "array column " + columns.get(0);
            case VECTOR -> "Spark ML vector column " + columns.get(0);
            case COLUMNS -> count + " numeric columns " + (columns.size() <= 4 ? String.join(", ", columns)
                    : columns.get(0) + ", " + columns.get(1) + ", ..., " + columns.get(columns.size() - 1));
            case IMAGE_BYTES -> "encoded image bytes in column " + columns.get(0) + ", decoded to " + shape;
            case IMAGE_ROWS -> "Spark image source column " + columns.get(0) + ", decoded to " + shape;
        };
    }

    /**
     * Resolves the features of {@code table}.
     *
     * @param names   {@code --features}: one array/vector/binary/image column, or numeric columns
     * @param prefix  {@code --features-prefix}: every top-level column starting with it, in the source's order
     * @param others  the id, label and split columns, never features
     * @param images  the image decoder (its shape known) when the column is image data; built on demand
     * @param idText  the row id as messages name it
     */
    static FeatureColumns resolve(SourceTable table, List<String> names, String prefix, List<String> others,
                                  java.util.function.Function<DataType, ImageDecoder> images, Column idText) {
        List<String> cols = names;
        if (prefix != null) {
            cols = table.columns().stream().filter(c -> c.startsWith(prefix) && !others.contains(c)).toList();
            if (cols.isEmpty()) {
                throw new IllegalArgumentException("no column starts with --features-prefix '" + prefix + "' in "
                        + table.where() + " (columns: " + String.join(", ", table.columns()) + ")");
            }
        }
        if (cols.size() == 1) {
            String c = cols.get(0);
            DataType t = table.type(c, "features");
            if (t instanceof ArrayType a) {
                if (!SourceTable.numericOrText(a.elementType()) || a.elementType().equals(DataTypes.StringType)) {
                    throw new IllegalArgumentException("features column '" + c + "' is " + t.simpleString()
                            + ": an array needs numeric elements");
                }
                return arrayValued(table, c, Kind.ARRAY, functions.col(c).cast(
                        DataTypes.createArrayType(DataTypes.FloatType)));
            }
            if (t instanceof UserDefinedType<?> u && u.sqlType() instanceof StructType
                    && u.getClass().getName().endsWith("VectorUDT")) {
                return arrayValued(table, c, Kind.VECTOR, org.apache.spark.ml.functions.vector_to_array(
                        functions.col(c), "float32"));
            }
            if (t.equals(DataTypes.BinaryType) || isImageStruct(t)) {
                ImageDecoder decoder = images.apply(t);
                Kind kind = t.equals(DataTypes.BinaryType) ? Kind.IMAGE_BYTES : Kind.IMAGE_ROWS;
                Column decoded = kind == Kind.IMAGE_BYTES
                        ? functions.udf((UDF2<byte[], String, float[]>) decoder::fromBytes,
                                DataTypes.createArrayType(DataTypes.FloatType, false)).apply(functions.col(c), idText)
                        : functions.udf((UDF2<Row, String, float[]>) decoder::fromImageRow,
                                DataTypes.createArrayType(DataTypes.FloatType, false)).apply(functions.col(c), idText);
                return new FeatureColumns(kind, cols, decoded, null, null, decoder.shape().size(),
                        decoder.shape().dims());
            }
            if (!SourceTable.numericOrText(t)) {
                throw new IllegalArgumentException("features column '" + c + "' has type " + t.simpleString()
                        + ": expected an array, a Spark ML vector, image bytes (binary), an image, or numeric columns");
            }
        }
        return numericColumns(table, cols);
    }

    static boolean isImageStruct(DataType t) {
        return t instanceof StructType s && List.of(s.fieldNames()).containsAll(
                List.of("origin", "height", "width", "nChannels", "data"));
    }

    /** An array-valued source: its length is the first row's, and every row is checked against it. */
    private static FeatureColumns arrayValued(SourceTable table, String c, Kind kind, Column raw) {
        Column source = functions.col(c);
        List<Row> first = table.rows().where(source.isNotNull()).select(size(raw)).limit(1).collectAsList();
        if (first.isEmpty()) {
            throw new IllegalArgumentException("features column '" + c + "' is null in every row of " + table.where());
        }
        int n = first.get(0).getInt(0);
        Column firstBad = array_position(functions.transform(raw, x -> x.isNull()), true).cast("int");
        Column nonFinite = array_position(functions.transform(raw,
                x -> isnan(x).or(abs(x).equalTo(lit(Float.POSITIVE_INFINITY)))), true).cast("int");
        Column structure = source.isNull().or(size(raw).notEqual(lit(n))).or(nullOrNaN(raw));
        Column detail = when(source.isNull(), lit("null features in column '" + c + "'"))
                .when(size(raw).notEqual(lit(n)), concat(lit("vector length mismatch: column '" + c + "' has "),
                        size(raw).cast("string"), lit(" values in this row, " + n + " in the first row")))
                .when(firstBad.gt(0), concat(lit("null feature value at index "), firstBad.minus(1).cast("string"),
                        lit(" of column '" + c + "'")))
                .otherwise(concat(lit("feature value "), element_at(raw, nonFinite).cast("string"),
                        lit(" at index "), nonFinite.minus(1).cast("string"), lit(" of column '" + c
                                + "' is not finite in float32")));
        return new FeatureColumns(kind, List.of(c), raw, when(structure.or(infinite(raw)), detail),
                when(structure, detail), n, List.of(n));
    }

    /**
     * Whether a float array holds a null or a NaN: {@code array_contains} finds NaN (Spark's equality holds for NaN)
     * and is null when it meets a null element first. One compiled loop over the row: the every-row checks use no
     * higher-order function ({@code array_compact}, {@code transform}), which Spark runs interpreted, element by
     * element.
     */
    static Column nullOrNaN(Column floats) {
        return coalesce(array_contains(floats, lit(Float.NaN)), lit(true));
    }

    /**
     * The message of a value {@link #problem} would refuse as infinite, for the pass that checks {@code x} in Java
     * (the words Spark's check uses); null when every value is finite.
     */
    static String nonFinite(float[] x, String column) {
        for (int j = 0; j < x.length; j++) {
            if (!Float.isFinite(x[j])) {
                return "feature value " + x[j] + " at index " + j + " of column '" + column
                        + "' is not finite in float32";
            }
        }
        return null;
    }

    /** Whether a float array (nulls and NaN aside) holds an infinity: its largest or smallest value is one. */
    static Column infinite(Column floats) {
        return array_max(floats).equalTo(lit(Float.POSITIVE_INFINITY))
                .or(array_min(floats).equalTo(lit(Float.NEGATIVE_INFINITY)));
    }

    private static FeatureColumns numericColumns(SourceTable table, List<String> cols) {
        List<Column> values = new ArrayList<>();
        List<Column> texts = new ArrayList<>();
        for (String c : cols) {
            DataType t = table.type(c, "features");
            if (!SourceTable.numericOrText(t)) {
                throw new IllegalArgumentException("features column '" + c + "' has type " + t.simpleString()
                        + ": numeric feature columns must be numbers (or strings holding numbers)");
            }
            values.add(functions.col(c).cast(DataTypes.FloatType));
            texts.add(functions.col(c).cast("string"));
        }
        Column raw = array(values.toArray(Column[]::new));
        int n = cols.size();
        Column firstNull = array_position(functions.transform(raw, x -> x.isNull()), true).cast("int");
        Column nonFinite = array_position(functions.transform(raw,
                x -> isnan(x).or(abs(x).equalTo(lit(Float.POSITIVE_INFINITY)))), true).cast("int");
        Column name = element_at(array(cols.stream().map(functions::lit).toArray(Column[]::new)), firstNull);
        Column text = element_at(array(texts.toArray(Column[]::new)), firstNull);
        Column anyBad = nullOrNaN(raw).or(infinite(raw));
        Column detail = when(firstNull.gt(0), concat(lit("feature value "),
                        coalesce(concat(lit("'"), text, lit("'")), lit("null")), lit(" in column '"), name,
                        lit("' is not a number")))
                .otherwise(concat(lit("feature value "), element_at(array(texts.toArray(Column[]::new)), nonFinite),
                        lit(" in column '"),
                        element_at(array(cols.stream().map(functions::lit).toArray(Column[]::new)), nonFinite),
                        lit("' is not finite in float32")));
        Column problem = when(anyBad, detail);
        return new FeatureColumns(Kind.COLUMNS, cols, raw, problem, problem, n, List.of(n));
    }
}
