package org.distillery.jobs.label;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.distillery.jobs.common.PublishMode;

/**
 * Validated configuration of a label run that imports a teacher's outputs made elsewhere (a model behind a serving
 * system, an API returning probabilities or only a label) instead of running a teacher.
 *
 * @param transfer     published transfer set the outputs belong to: every id exactly once
 * @param source       the imported table: a path (or a catalog table name with {@code sourceFormat} {@code table})
 * @param sourceFormat Spark source format of {@code source}: parquet, csv, json, orc or table
 * @param options      Spark reader options of the source (e.g. {@code header=true} for CSV)
 * @param format       what the table holds per row: {@code logits}, {@code probabilities}, {@code topk} (the K most
 *                     likely classes and their probabilities) or {@code label} (the teacher's class only)
 * @param idColumn     the column of transfer row ids
 * @param columns      the value column: one array column, or several numeric columns (one per class, in class
 *                     order); for {@code topk} the probabilities of the K classes
 * @param topkIndex    for {@code topk}: the array column of the K class indices
 * @param tolerance    how far a row's probabilities may sum from 1 (and a top-K row's above 1)
 * @param teacherName  the teacher's name, recorded in the manifest
 * @param out          output directory for the soft targets
 * @param temperature  T recorded in the manifest and of the {@code soft} column
 * @param mode         what to do when {@code out} is already published; {@code incremental} keeps an output
 *                     imported from the same source bytes, transfer set and T, and re-imports otherwise
 */
public record ImportConfig(String transfer, String source, String sourceFormat, Map<String, String> options,
                           String format, String idColumn, List<String> columns, String topkIndex, double tolerance,
                           String teacherName, String out, double temperature, PublishMode mode) {
    public static final List<String> FORMATS = List.of("logits", "probabilities", "topk", "label");
    public static final List<String> SOURCE_FORMATS = List.of("parquet", "csv", "json", "orc", "table");
    public static final double DEFAULT_TOLERANCE = 1e-3;

    public ImportConfig {
        require(transfer, "--transfer");
        require(source, "--import");
        require(out, "--out");
        sourceFormat = sourceFormat == null ? "parquet" : sourceFormat.toLowerCase(Locale.ROOT);
        if (!SOURCE_FORMATS.contains(sourceFormat)) {
            throw new IllegalArgumentException("--import-source-format must be one of " + SOURCE_FORMATS + ", got '"
                    + sourceFormat + "'");
        }
        options = options == null ? Map.of() : new TreeMap<>(options);
        if (format == null || !FORMATS.contains(format)) {
            throw new IllegalArgumentException("--import-format must be one of " + FORMATS + ", got '" + format + "'");
        }
        idColumn = idColumn == null || idColumn.isBlank() ? "id" : idColumn;
        columns = columns == null || columns.isEmpty() ? List.of(format.equals("topk") ? "probabilities" : format)
                : List.copyOf(columns);
        columns.forEach(c -> require(c, "--import-column"));
        if (format.equals("label") && columns.size() != 1) {
            throw new IllegalArgumentException("--import-format label reads one column of class indices, got "
                    + columns);
        }
        topkIndex = format.equals("topk") ? (topkIndex == null || topkIndex.isBlank() ? "topk_index" : topkIndex)
                : null;
        if (!(tolerance > 0) || tolerance >= 0.5) {
            throw new IllegalArgumentException("--import-tolerance must be in (0, 0.5), got " + tolerance);
        }
        teacherName = teacherName == null || teacherName.isBlank()
                ? source.replaceAll("/+$", "").replaceAll(".*/", "") : teacherName;
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number > 0, got " + temperature);
        }
        mode = mode == null ? PublishMode.FAIL_IF_EXISTS : mode;
    }

    private static void require(String value, String flag) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(flag + " must be set, got '" + value + "'");
        }
    }

    /** Whether the values are probabilities (checked to sum to 1) rather than logits or labels. */
    boolean probabilities() {
        return format.equals("probabilities") || format.equals("topk");
    }

    /** How the manifest names the teacher's format. */
    String describe() {
        return "imported " + format + " (" + sourceFormat + ")";
    }
}
