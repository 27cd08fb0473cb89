package org.distillery.jobs.ingest;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.distillery.jobs.common.PublishMode;
import org.distillery.model.schema.FeatureTransform;

/**
 * Validated configuration of the ingest job, grouped by concern; its JSON goes into every split's manifest (empty
 * groups are left out). Build it with {@link #builder()}; {@link #idx} is the Fashion-MNIST demo's.
 *
 * @param source        what to read and how
 * @param columns       which source columns are the id, the label and the features
 * @param preprocessing how features are scaled and standardized
 * @param text          {@code --format text} only: how files become documents, windows and a vocabulary
 * @param splits        how rows are split into train, validation and test
 * @param out           output directory: {@code OUT/train}, {@code OUT/validation}, {@code OUT/test} are published
 *                      under it, or with {@link Splits#none()} one transfer set at {@code OUT} itself
 * @param mode          what to do when a split is already published
 * @param seed          seed of the split selection
 */
public record IngestConfig(Source source, Columns columns, Preprocessing preprocessing,
                           @JsonInclude(JsonInclude.Include.NON_NULL) TextConfig text, Splits splits, String out,
                           PublishMode mode, long seed) {
    public static final String DEFAULT_SOURCE = "/usr/share/datasets/fashion-mnist";
    public static final int DEFAULT_IDX_VALIDATION = 5000;
    public static final long DEFAULT_SEED = 42;
    /** The split names, in the order they are published. */
    public static final List<String> SPLITS = List.of("train", "validation", "test");

    /** Where rows come from. */
    public enum Format {
        PARQUET("parquet"), CSV("csv"), JSON("json"), ORC("orc"), IMAGE("image"), BINARY_FILE("binaryFile"),
        IDX("idx"), TABLE("table"), TEXT("text");

        private final String id;

        Format(String id) {
            this.id = id;
        }

        @JsonValue
        public String id() {
            return id;
        }

        /** Whether rows are files of image bytes (a folder read by Spark's image or binaryFile source). */
        boolean files() {
            return this == IMAGE || this == BINARY_FILE;
        }

        public static Format parse(String s) {
            for (Format f : values()) {
                if (f.id.equals(s)) {
                    return f;
                }
            }
            throw new IllegalArgumentException("--format must be one of "
                    + Arrays.stream(values()).map(Format::id).toList() + ", got '" + s + "'");
        }
    }

    /**
     * @param location a path (any Hadoop filesystem, globs allowed) or, for {@code table}, a catalog table name
     * @param format   the Spark data source, {@code table} for a catalog table, {@code idx} for Fashion-MNIST files
     * @param options  Spark reader options, passed as they are ({@code header=true}, {@code inferSchema=true}, ...)
     */
    public record Source(String location, Format format,
                         @JsonInclude(JsonInclude.Include.NON_EMPTY) Map<String, String> options) {
        public Source {
            require(location, "--source");
            if (format == null) {
                throw new IllegalArgumentException("--format must be set");
            }
            options = options == null ? Map.of() : new LinkedHashMap<>(options);
            if (format == Format.IDX || format == Format.TABLE || format == Format.TEXT) {
                if (!options.isEmpty()) {
                    throw new IllegalArgumentException("--option applies to Spark file sources, not --format "
                            + format.id() + ", got " + options);
                }
            }
        }
    }

    /**
     * Source columns (nested struct fields as {@code a.b}); null or empty where not given.
     *
     * @param id             a long (or other integer) id column, or a string column hashed to a 64-bit id
     * @param idFrom         columns whose values together make the id (hashed)
     * @param label          the class label column, integer or string; absent: every row unlabelled
     * @param classes        class names in index order (string labels map to their position; integer labels are
     *                       indices into it); absent: sorted distinct string labels, or "0".."max" for integers
     * @param features       one array, ML vector, binary (PNG/JPEG bytes) or image column, or numeric columns
     * @param featuresPrefix every numeric column whose name starts with this, in the source's column order
     * @param shape          {@code CxHxW} images are decoded to (C 1 or 3; other sizes resized); absent: the first
     *                       image's own size, which every image must then have
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Columns(String id, List<String> idFrom, String label, List<String> classes, List<String> features,
                          String featuresPrefix, String shape) { // empty parts are left out of the JSON
        public static final Columns NONE = new Columns(null, null, null, null, null, null, null);

        public Columns {
            idFrom = idFrom == null ? List.of() : List.copyOf(idFrom);
            classes = classes == null ? List.of() : List.copyOf(classes);
            features = features == null ? List.of() : List.copyOf(features);
            if (id != null && !idFrom.isEmpty()) {
                throw new IllegalArgumentException("give --id or --id-from, not both (got --id " + id
                        + " and --id-from " + String.join(",", idFrom) + ")");
            }
            if (!features.isEmpty() && featuresPrefix != null) {
                throw new IllegalArgumentException("give --features or --features-prefix, not both");
            }
            Set<String> seen = new HashSet<>();
            for (String c : classes) {
                if (c == null || c.isEmpty()) {
                    throw new IllegalArgumentException("--classes has an empty class name: " + classes);
                }
                if (!seen.add(c)) {
                    throw new IllegalArgumentException("--classes names class '" + c + "' twice: " + classes);
                }
            }
            if (shape != null) {
                ImageShape.parse(shape);
            }
        }

        boolean isEmpty() {
            return equals(NONE);
        }
    }

    /**
     * @param scale         multiply-then-divide applied to every feature value, a number or a fraction such as
     *                      {@code 1/255}; null: 1 (for idx: 1/255)
     * @param standardize   centre and scale each feature by its mean and std over the training split
     * @param transformFrom a published transfer set whose recorded classes, scale, standardization statistics and
     *                      example shape to apply instead of declaring or fitting them (e.g. a new day's data
     *                      transformed as the reference data was)
     */
    public record Preprocessing(@JsonInclude(JsonInclude.Include.NON_NULL) String scale,
                                @JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean standardize,
                                @JsonInclude(JsonInclude.Include.NON_NULL) String transformFrom) {
        public Preprocessing {
            if (scale != null) {
                FeatureTransform.scale(scale);
            }
            if (transformFrom != null && (scale != null || standardize)) {
                throw new IllegalArgumentException("--transform-from " + transformFrom + " takes the scale and"
                        + " standardization recorded there: do not also pass --scale or --standardize");
            }
        }
    }

    /**
     * How rows are split: exactly one of {@code none} (every row in one transfer set at OUT), a split column, hash
     * fractions, or (idx only) a number of validation rows.
     *
     * @param none           one transfer set published at OUT itself (e.g. a daily partition)
     * @param column         column whose values are train, validation or test
     * @param validation     fraction of each class (and of the unlabelled rows) for validation
     * @param test           fraction of each class (and of the unlabelled rows) for test
     * @param validationRows idx: rows of the training file held out for validation (stratified, seeded)
     */
    public record Splits(@JsonInclude(JsonInclude.Include.NON_DEFAULT) boolean none,
                         @JsonInclude(JsonInclude.Include.NON_NULL) String column,
                         @JsonInclude(JsonInclude.Include.NON_DEFAULT) double validation,
                         @JsonInclude(JsonInclude.Include.NON_DEFAULT) double test,
                         @JsonInclude(JsonInclude.Include.NON_DEFAULT) int validationRows) {
        public Splits {
            int ways = (none ? 1 : 0) + (column != null ? 1 : 0) + (validation > 0 || test > 0 ? 1 : 0)
                    + (validationRows > 0 ? 1 : 0);
            if (ways > 1) {
                throw new IllegalArgumentException("give one way to split: --split none, --split-column, --split"
                        + " validation=F,test=F or (idx) --validation N");
            }
            if (validation < 0 || test < 0 || validation + test >= 1 || Double.isNaN(validation + test)) {
                throw new IllegalArgumentException("split fractions must be >= 0 and sum to less than 1, got"
                        + " validation=" + validation + ", test=" + test);
            }
            if (validationRows < 0) {
                throw new IllegalArgumentException("validation rows must be >= 0, got " + validationRows);
            }
        }

        public static Splits oneSet() {
            return new Splits(true, null, 0, 0, 0);
        }

        public static Splits byColumn(String column) {
            return new Splits(false, require(column, "--split-column"), 0, 0, 0);
        }

        public static Splits fractions(double validation, double test) {
            return new Splits(false, null, validation, test, 0);
        }

        public static Splits idxRows(int validationRows) {
            return new Splits(false, null, 0, 0, validationRows);
        }

        /**
         * {@code --split}: {@code none}, or {@code validation=F,test=F} (either part may be left out, meaning 0).
         */
        public static Splits parse(String text) {
            if (text.strip().equals("none")) {
                return oneSet();
            }
            double v = 0;
            double t = 0;
            for (String part : text.split(",")) {
                String[] kv = part.strip().split("=", 2);
                try {
                    if (kv.length == 2 && kv[0].equals("validation")) {
                        v = Double.parseDouble(kv[1]);
                        continue;
                    } else if (kv.length == 2 && kv[0].equals("test")) {
                        t = Double.parseDouble(kv[1]);
                        continue;
                    }
                } catch (NumberFormatException e) {
                    // reported below
                }
                throw new IllegalArgumentException("--split must be none or validation=F,test=F, got '" + text + "'");
            }
            return fractions(v, t);
        }

        /** The split names rows can get (what the job may publish). */
        List<String> names() {
            return none ? List.of("train") : SPLITS;
        }
    }

    public IngestConfig {
        if (source == null) {
            throw new IllegalArgumentException("--source must be set");
        }
        columns = columns == null ? Columns.NONE : columns;
        preprocessing = preprocessing == null ? new Preprocessing(null, false, null) : preprocessing;
        splits = splits == null ? (source.format() == Format.IDX ? Splits.idxRows(DEFAULT_IDX_VALIDATION)
                : source.format() == Format.TEXT ? TextConfig.DEFAULT_SPLITS : Splits.oneSet()) : splits;
        text = TextConfig.check(source.format(), text, columns, preprocessing, splits);
        require(out, "--out");
        mode = PublishMode.wholeOutput(mode, "ingest");
        if (source.format() == Format.IDX) {
            if (!columns.isEmpty()) {
                throw new IllegalArgumentException("--format idx has fixed columns (ids are the row index in each IDX"
                        + " file, labels the IDX labels, features the pixels): do not pass --id, --label, --classes,"
                        + " --features or --shape");
            }
            if (splits.none() || splits.column() != null || splits.validation() > 0 || splits.test() > 0) {
                throw new IllegalArgumentException("--format idx splits by its files (test from t10k-*) and"
                        + " --validation N rows; --split and --split-column apply to other formats");
            }
        } else if (splits.validationRows() > 0) {
            throw new IllegalArgumentException("--validation N applies to --format idx; for " + source.format().id()
                    + " use --split validation=F,test=F or --split-column COL");
        }
    }

    /** The Fashion-MNIST IDX ingest: {@code validation} training rows held out, stratified and seeded. */
    public static IngestConfig idx(String directory, String out, int validation, long seed) {
        return new IngestConfig(new Source(directory, Format.IDX, null), null, null, null, Splits.idxRows(validation),
                out, null, seed);
    }

    /** Where split {@code name} is published. */
    String target(String name) {
        return splits.none() ? out : out + "/" + name;
    }

    /** The scale as declared, or its default: 1/255 for idx pixels, 1 otherwise. */
    String scaleOrDefault() {
        return preprocessing.scale() != null ? preprocessing.scale()
                : source.format() == Format.IDX ? "1/255" : "1";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a config by name (the CLI's and the tests' way). */
    public static final class Builder {
        private String location;
        private Format format = Format.IDX;
        private Map<String, String> options = Map.of();
        private String id;
        private List<String> idFrom;
        private String label;
        private List<String> classes;
        private List<String> features;
        private String featuresPrefix;
        private String shape;
        private String scale;
        private boolean standardize;
        private String transformFrom;
        private TextConfig text;
        private Splits splits;
        private String out;
        private PublishMode mode;
        private long seed = DEFAULT_SEED;

        public Builder source(String location, Format format) {
            this.location = location;
            this.format = format;
            return this;
        }

        public Builder options(Map<String, String> options) {
            this.options = options;
            return this;
        }

        public Builder id(String id) {
            this.id = id;
            return this;
        }

        public Builder idFrom(List<String> idFrom) {
            this.idFrom = idFrom;
            return this;
        }

        public Builder label(String label) {
            this.label = label;
            return this;
        }

        public Builder classes(List<String> classes) {
            this.classes = classes;
            return this;
        }

        public Builder features(List<String> features) {
            this.features = features;
            return this;
        }

        public Builder features(String... features) {
            return features(List.of(features));
        }

        public Builder featuresPrefix(String prefix) {
            this.featuresPrefix = prefix;
            return this;
        }

        public Builder shape(String shape) {
            this.shape = shape;
            return this;
        }

        public Builder scale(String scale) {
            this.scale = scale;
            return this;
        }

        public Builder standardize(boolean standardize) {
            this.standardize = standardize;
            return this;
        }

        public Builder transformFrom(String dir) {
            this.transformFrom = dir;
            return this;
        }

        /** {@code --format text}'s documents, windows and vocabulary (null: the defaults). */
        public Builder text(TextConfig text) {
            this.text = text;
            return this;
        }

        public Builder splits(Splits splits) {
            this.splits = splits;
            return this;
        }

        public Builder out(String out) {
            this.out = out;
            return this;
        }

        public Builder mode(PublishMode mode) {
            this.mode = mode;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public IngestConfig build() {
            return new IngestConfig(new Source(location, format, options),
                    new Columns(id, idFrom, label, classes, features, featuresPrefix, shape),
                    new Preprocessing(scale, standardize, transformFrom), text, splits, out, mode, seed);
        }
    }

    private static String require(String value, String what) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(what + " must be set, got '" + value + "'");
        }
        return value;
    }
}
