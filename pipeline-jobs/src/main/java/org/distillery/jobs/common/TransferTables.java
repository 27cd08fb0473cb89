package org.distillery.jobs.common;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetCodec;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;

/** The Spark side of the engine-neutral schemas in model-lib: struct types, checked reads, Parquet writes. */
public final class TransferTables {
    public static final StructType SCHEMA = new StructType(new StructField[] {
        DataTypes.createStructField(TransferSchema.ID, DataTypes.LongType, false),
        DataTypes.createStructField(TransferSchema.FEATURES, DataTypes.createArrayType(DataTypes.FloatType, false), false),
        DataTypes.createStructField(TransferSchema.LABEL, DataTypes.IntegerType, true)});

    /**
     * The soft-target table of {@code layout}: the columns {@link SoftTargetLayout#columns()} lists, typed, then
     * {@code input_hash} (what incremental relabeling compares; optional for readers).
     */
    public static StructType softTargets(SoftTargetLayout layout) {
        DataType values = layout.precision() == SoftTargetLayout.Precision.FP16 ? DataTypes.BinaryType
                : DataTypes.createArrayType(DataTypes.FloatType, false);
        java.util.Map<String, DataType> types = java.util.Map.of(
                SoftTargetSchema.ID, DataTypes.LongType,
                SoftTargetSchema.LABEL, DataTypes.IntegerType,
                SoftTargetSchema.LOGITS, values,
                SoftTargetSchema.TOPK_INDEX, DataTypes.createArrayType(DataTypes.IntegerType, false),
                SoftTargetSchema.TOPK_LOGIT, values,
                SoftTargetSchema.TAIL_LSE, DataTypes.FloatType,
                SoftTargetSchema.SOFT, DataTypes.createArrayType(DataTypes.FloatType, false),
                SoftTargetSchema.HINT, DataTypes.createArrayType(DataTypes.FloatType, false));
        return new StructType(layout.columns().stream().map(c -> DataTypes.createStructField(c, types.get(c),
                c.equals(SoftTargetSchema.LABEL))).toArray(StructField[]::new))
                .add(DataTypes.createStructField(SoftTargetSchema.INPUT_HASH, DataTypes.LongType, false));
    }

    private TransferTables() {
    }

    /** A published transfer set with its manifest; the columns are checked before any row is read. */
    public record Transfer(String path, Manifest manifest, Dataset<Row> rows) {
        public int featureCount() {
            return (int) manifest.number(TransferSchema.FEATURE_COUNT);
        }

        public int classes() {
            return (int) manifest.number(TransferSchema.CLASSES);
        }
    }

    /** The transfer set at {@code path}, resolved and checked ({@link #resolveTransfer}), with its rows. */
    public static Transfer readTransfer(SparkSession spark, String path) {
        return readTransfer(spark, resolveTransfer(Storage.of(spark), path));
    }

    /** The rows of a transfer set resolved at a job's door: the files its manifest lists, nothing checked again. */
    public static Transfer readTransfer(SparkSession spark, ResolvedInput in) {
        return new Transfer(in.path(), in.manifest(), parquet(spark, in));
    }

    /**
     * Checks a transfer set without Spark (dry runs use it; so does every read): published, not empty, and the
     * columns of its Parquet footer (of each partition's, for a {@link PartitionedTable}). Returns its manifest.
     */
    public static Manifest checkTransfer(Storage storage, String path) {
        return resolveTransfer(storage, path).manifest();
    }

    /** The transfer set at {@code path}, resolved ({@link ResolvedInput#published}) and checked. */
    public static ResolvedInput resolveTransfer(Storage storage, String path) {
        return checkTransfer(storage, ResolvedInput.published(storage, path));
    }

    /** The checks of {@link #checkTransfer(Storage, String)} on a resolved input's manifest and footers; returns it. */
    public static ResolvedInput checkTransfer(Storage storage, ResolvedInput in) {
        if (in.manifest().facts().get("rows") instanceof Number n && n.longValue() == 0) {
            throw new IllegalArgumentException("transfer set is empty (0 rows): " + in.given());
        }
        footers(storage, in).forEach((dir, schema) -> requireColumns(schema, dir, TRANSFER_COLUMNS));
        return in;
    }

    /**
     * The manifest of a published output, or for a {@link PartitionedTable} the combined manifest of its published
     * partitions; refuses anything else.
     */
    public static Manifest published(Storage storage, String path) {
        return PartitionedTable.isPartitioned(storage, path) ? PartitionedTable.read(storage, path).manifest()
                : storage.publishedManifest(path);
    }

    /**
     * The schema of every directory of the input {@code in}, each read from all its part files' footers: the files
     * its manifest lists, or for an output published before manifests listed files, the Parquet files found.
     */
    private static java.util.Map<String, StructType> footers(Storage storage, ResolvedInput in) {
        java.util.Map<String, StructType> out = new java.util.LinkedHashMap<>();
        List<String> files = dataFiles(in);
        if (files != null) {
            java.util.Map<String, List<String>> byDir = new java.util.TreeMap<>();
            files.forEach(f -> byDir.computeIfAbsent(new org.apache.hadoop.fs.Path(f).getParent().toString(),
                    d -> new ArrayList<>()).add(f));
            byDir.forEach((dir, inDir) -> out.put(dir, ParquetFooters.schema(storage, dir, inDir)));
        } else {
            dataDirs(in).forEach(dir -> out.put(dir, ParquetFooters.schema(storage, dir, null)));
        }
        return out;
    }

    /**
     * The Parquet data files (full paths) the manifest of {@code in} lists, or null when it lists none (published
     * before manifests listed files: read by directory). Readers read exactly these.
     */
    private static List<String> dataFiles(ResolvedInput in) {
        if (in.manifest().files() == null) {
            return null;
        }
        List<String> parquet = in.manifest().files().keySet().stream().filter(n -> n.endsWith(".parquet"))
                .map(n -> in.path() + "/" + n).toList();
        if (parquet.isEmpty()) {
            throw new IllegalArgumentException("published output " + in.given() + " lists no Parquet data files in its"
                    + " manifest");
        }
        return parquet;
    }

    /**
     * The directories holding the Parquet files of {@code in}: itself, or the partitions a partitioned table's
     * combined manifest lists (those that were checked, even if another was published since).
     */
    private static List<String> dataDirs(ResolvedInput in) {
        return in.manifest().facts().get(PartitionedTable.PARTITIONS) instanceof java.util.Map<?, ?> partitions
                ? partitions.keySet().stream().map(name -> in.path() + "/" + name).toList()
                : List.of(in.given());
    }

    /** A published soft-target table with its manifest (schema version checked) and its storage layout. */
    public record SoftTargets(String path, Manifest manifest, SoftTargetLayout layout, Dataset<Row> rows) {
        public double temperature() {
            return manifest.number(SoftTargetSchema.TEMPERATURE);
        }

        public int classes() {
            return (int) manifest.number(SoftTargetSchema.CLASSES);
        }

        /** id, label and the dense logits of every row, whatever the layout stores ({@link #denseLogits}). */
        public Dataset<Row> logits() {
            return denseLogits(rows, layout);
        }
    }

    /** The soft-target table at {@code path}, resolved and checked ({@link #resolveSoftTargets}), with its rows. */
    public static SoftTargets readSoftTargets(SparkSession spark, String path) {
        return readSoftTargets(spark, resolveSoftTargets(Storage.of(spark), path));
    }

    /** The rows of a soft-target table resolved at a job's door: the files its manifest lists, not checked again. */
    public static SoftTargets readSoftTargets(SparkSession spark, ResolvedInput in) {
        return new SoftTargets(in.path(), in.manifest(), SoftTargetLayout.read(in.manifest(), in.given()),
                parquet(spark, in));
    }

    /**
     * As {@link #checkTransfer} for a soft-target table (published or partitioned): label manifest, schema version (1
     * or 2), and the footer columns (but {@code soft}) of the layout the manifest records.
     */
    public static Manifest checkSoftTargets(Storage storage, String path) {
        return resolveSoftTargets(storage, path).manifest();
    }

    /** The soft-target table at {@code path} resolved and checked ({@link #checkSoftTargets}). */
    public static ResolvedInput resolveSoftTargets(Storage storage, String path) {
        ResolvedInput in = ResolvedInput.published(storage, path);
        Manifest m = in.manifest();
        if (!"label".equals(m.job())) {
            throw new IllegalArgumentException("not a soft-target output (manifest job is '" + m.job() + "'): " + path);
        }
        SoftTargetLayout layout = SoftTargetLayout.read(m, path);
        List<Col> cols = java.util.Arrays.stream(softTargets(layout).fields()) // no reader needs soft or input_hash
                .filter(f -> !f.name().equals(SoftTargetSchema.SOFT) && !f.name().equals(SoftTargetSchema.INPUT_HASH))
                .map(f -> new Col(f.name(), f.dataType())).toList();
        footers(storage, in).forEach((dir, schema) -> requireColumns(schema, dir, cols));
        return in;
    }

    /**
     * id, label and {@code logits} array&lt;float&gt;[C] of soft-target rows stored in {@code layout}: fp32 dense
     * logits as they are, anything else decoded row by row with {@link SoftTargetCodec} (fp16 to float; top-K with the
     * tail's mass spread over the other classes, exact at T = 1).
     */
    public static Dataset<Row> denseLogits(Dataset<Row> rows, SoftTargetLayout layout) {
        return denseLogits(rows, layout, new Column[0]);
    }

    /** {@link #denseLogits(Dataset, SoftTargetLayout)}, with {@code more} columns of the rows after the logits. */
    public static Dataset<Row> denseLogits(Dataset<Row> rows, SoftTargetLayout layout, Column... more) {
        List<Column> out = new ArrayList<>(List.of(functions.col(SoftTargetSchema.ID),
                functions.col(SoftTargetSchema.LABEL), denseLogits(layout)));
        out.addAll(List.of(more));
        return rows.select(out.toArray(Column[]::new));
    }

    /** The dense logits of soft-target rows stored in {@code layout}, as {@link #denseLogits} selects them. */
    public static Column denseLogits(SoftTargetLayout layout) {
        if (layout.precision() == SoftTargetLayout.Precision.FP32 && !layout.topKOnly()) {
            return functions.col(SoftTargetSchema.LOGITS);
        }
        SoftTargetCodec codec = new SoftTargetCodec(layout);
        UserDefinedFunction decode = functions.udf((UDF2<Long, Row, float[]>) (id, r) -> decode(codec, r, layout,
                id), DataTypes.createArrayType(DataTypes.FloatType, false));
        Column stored = functions.struct(layout.logitColumns().stream().map(functions::col).toArray(Column[]::new));
        return decode.apply(functions.col(SoftTargetSchema.ID), stored).as(SoftTargetSchema.LOGITS);
    }

    /** Row {@code id}'s stored logit columns decoded to dense logits; a damaged row is refused naming its id. */
    private static float[] decode(SoftTargetCodec codec, Row r, SoftTargetLayout layout, Long id) {
        try {
            return codec.decode(stored(r, 0, layout));
        } catch (IllegalStateException | IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage() + " for id " + id, e);
        }
    }

    /**
     * The stored logit columns of {@code layout}, found in {@code r} from field {@code from} on, as the codec takes
     * them (float[] or byte[] values, int[] indices, a Float tail).
     */
    public static Object[] stored(Row r, int from, SoftTargetLayout layout) {
        boolean fp16 = layout.precision() == SoftTargetLayout.Precision.FP16;
        Object[] v = new Object[layout.logitColumns().size()];
        for (int k = 0; k < v.length; k++) {
            int i = from + k;
            if (r.isNullAt(i)) {
                throw new IllegalStateException("null " + layout.logitColumns().get(k) + " in a soft-target row");
            }
            v[k] = switch (layout.logitColumns().get(k)) {
                case SoftTargetSchema.TOPK_INDEX -> ints(r, i);
                case SoftTargetSchema.TAIL_LSE -> r.getFloat(i);
                default -> fp16 ? r.<byte[]>getAs(i) : floats(r, i);
            };
        }
        return v;
    }

    /**
     * The rows of a published output, or of the partitions its combined manifest lists (no partition column): the
     * data files the manifest lists, not whatever the directories hold now.
     */
    private static Dataset<Row> parquet(SparkSession spark, ResolvedInput in) {
        List<String> files = dataFiles(in);
        String[] paths = (files != null ? files : dataDirs(in)).toArray(String[]::new);
        try {
            return spark.read().parquet(paths);
        } catch (Exception e) {
            throw explain(e, in.given());
        }
    }

    private record Col(String name, DataType type) {
    }

    private static final List<Col> TRANSFER_COLUMNS = List.of(
            new Col(TransferSchema.ID, DataTypes.LongType),
            new Col(TransferSchema.FEATURES, DataTypes.createArrayType(DataTypes.FloatType)),
            new Col(TransferSchema.LABEL, DataTypes.IntegerType));

    private static void requireColumns(StructType schema, String path, List<Col> cols) {
        for (Col c : cols) {
            if (!List.of(schema.fieldNames()).contains(c.name())) {
                throw new IllegalArgumentException("column '" + c.name() + "' missing in " + path + " (has "
                        + String.join(", ", schema.fieldNames()) + ")");
            }
            DataType actual = schema.apply(c.name()).dataType();
            if (!DataType.equalsIgnoreNullability(actual, c.type())) {
                throw new IllegalArgumentException("column '" + c.name() + "' in " + path + " has type "
                        + actual.simpleString() + ", expected " + c.type().simpleString());
            }
        }
    }

    /**
     * The class names of a transfer set (or a label output) for outputs with {@code classes} classes: the recorded names
     * when they are that many, else "0".."C-1" (a teacher with another class count than the transfer set records).
     */
    public static List<String> classNames(Manifest m, int classes) {
        List<String> names = m.facts().get(TransferSchema.CLASSES) instanceof Number n && n.intValue() == classes
                ? TransferSchema.classNames(m) : null;
        return names != null ? names : java.util.stream.IntStream.range(0, classes).mapToObj(Integer::toString).toList();
    }

    /**
     * The facts a consumer of a transfer set carries into its own manifest, so that a model says what its inputs and
     * outputs mean: class names, example shape and feature transform (those {@code m} records).
     */
    public static java.util.Map<String, Object> carried(Manifest m) {
        java.util.Map<String, Object> f = new java.util.LinkedHashMap<>();
        for (String key : MEANING) {
            if (m.facts().get(key) != null) {
                f.put(key, m.facts().get(key));
            }
        }
        return f;
    }

    /** {@code facts} with the facts {@link #carried} from transfer manifest {@code m} added; returns {@code facts}. */
    public static java.util.Map<String, Object> withMeaning(Manifest m, java.util.Map<String, Object> facts) {
        facts.putAll(carried(m));
        return facts;
    }

    /** Facts that say what features and labels mean: sets compared or combined must agree on them. */
    public static final List<String> MEANING = List.of(TransferSchema.CLASS_NAMES, TransferSchema.SHAPE,
            TransferSchema.PREPROCESSING);

    /**
     * Refuses to use {@code other} with {@code base} when both record what their features or classes mean and they
     * differ (another transform, another class order): a student validated or evaluated on differently preprocessed
     * data would be measured on inputs it never saw. A fact only one of them records is not compared.
     */
    public static void requireSameMeaning(Manifest base, String basePath, Manifest other, String otherPath) {
        for (String key : MEANING) {
            Object a = base.facts().get(key);
            Object b = other.facts().get(key);
            if (a != null && b != null && !Manifest.oneLine(a).equals(Manifest.oneLine(b))) {
                throw new IllegalArgumentException(otherPath + " and " + basePath + " disagree on " + key + ": "
                        + abbreviate(Manifest.oneLine(b)) + " vs " + abbreviate(Manifest.oneLine(a))
                        + " (ingest them together, or the new one with --transform-from)");
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }

    /** The input hash of transfer rows, as stored with their soft targets ({@link InputHash}). */
    public static org.apache.spark.sql.Column inputHash() {
        return InputHash.column();
    }

    /** Whether a published Parquet output has {@code column} (read from its footers, no Spark). */
    public static boolean hasColumn(Storage storage, String path, String column) {
        return footers(storage, ResolvedInput.output(storage, path)).values().stream()
                .allMatch(schema -> java.util.Arrays.asList(schema.fieldNames()).contains(column));
    }

    /** Writes Parquet without Spark's own _SUCCESS marker: publication is {@link StagedOutput}'s job. */
    public static void write(Dataset<Row> rows, String path) {
        write(rows, path, java.util.Map.of());
    }

    private static void write(Dataset<Row> rows, String path, java.util.Map<String, String> options) {
        rows.sparkSession().sparkContext().hadoopConfiguration()
                .set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
        rows.write().mode("errorifexists").options(options).parquet(path);
    }

    /**
     * Writer options that store {@code schema}'s float columns, float arrays' elements, and the long columns that are
     * distinct per row (the row id and the input hash) without dictionary encoding. A teacher's outputs are
     * continuous, nearly every value distinct, as are ids and hashes: parquet-mr would fill a dictionary of up to 1 MB
     * per column chunk, hashing every value, only to fall back to PLAIN pages (docs/PERFORMANCE.md, label job: writing
     * the output).
     */
    static java.util.Map<String, String> plainColumns(StructType schema) {
        java.util.Map<String, String> options = new java.util.TreeMap<>();
        for (String column : plainColumnPaths(schema)) {
            options.put("parquet.enable.dictionary#" + column, "false");
        }
        return options;
    }

    /** The Parquet column paths of {@link #plainColumns}. */
    static java.util.Set<String> plainColumnPaths(StructType schema) {
        java.util.Set<String> paths = new java.util.TreeSet<>();
        for (StructField f : schema.fields()) {
            if (f.dataType() instanceof org.apache.spark.sql.types.FloatType
                    || f.dataType() instanceof org.apache.spark.sql.types.LongType
                    && (f.name().equals(SoftTargetSchema.ID) || f.name().equals(SoftTargetSchema.INPUT_HASH))) {
                paths.add(f.name());
            } else if (f.dataType() instanceof org.apache.spark.sql.types.ArrayType a
                    && a.elementType() instanceof org.apache.spark.sql.types.FloatType) {
                paths.add(f.name() + ".list.element");
            }
        }
        return paths;
    }

    /** The rows of the published output at {@code path}: the files its verified manifest lists. */
    public static Dataset<Row> readPublished(SparkSession spark, String path) {
        return parquet(spark, ResolvedInput.output(Storage.of(spark), path));
    }

    /** Rows written under a (hidden, staging) directory: its part files are globbed, Spark skips hidden roots. */
    public static Dataset<Row> readStaged(SparkSession spark, String dir) {
        return spark.read().parquet(dir + "/part-*");
    }

    /** The rows a job wrote to {@code dir}, from the Parquet footers (no Spark job). */
    public static long countRows(SparkSession spark, String dir) {
        return ParquetFooters.rows(Storage.of(spark), dir);
    }

    /**
     * One pass over {@code rows}: (row count, sum of a 64-bit hash of every row's values). The sum does not depend on
     * order or partitioning, and any changed, missing or duplicated row changes it.
     */
    public static Row contentSummary(Dataset<Row> rows) {
        Column[] s = summary(rows);
        return rows.agg(s[0], java.util.Arrays.copyOfRange(s, 1, s.length)).first();
    }

    /**
     * The aggregates of {@link #contentSummary}: row count, then the sum of xxhash64 over every column as the sums of
     * its bits 0-21, 22-43 and 44-63 (as unsigned numbers). Each stays exact in a long below 2^41 rows, and together
     * they give the sum modulo 2^64 without a decimal addition per row.
     */
    private static Column[] summary(Dataset<Row> rows) {
        Column[] all = java.util.Arrays.stream(rows.columns()).map(functions::col).toArray(Column[]::new);
        Column h = functions.xxhash64(all);
        Column[] out = new Column[1 + SUM_SLICES];
        out[0] = functions.count(functions.lit(1));
        for (int k = 0; k < SUM_SLICES; k++) {
            out[1 + k] = functions.sum(functions.shiftrightunsigned(h, SLICE_BITS * k).bitwiseAND(SLICE_MASK));
        }
        return out;
    }

    static final int SUM_SLICES = 3;
    static final int SLICE_BITS = 22;
    static final long SLICE_MASK = (1L << SLICE_BITS) - 1;

    /** How long a write waits for the aggregates its tasks observed to reach the driver's listener. */
    private static final scala.concurrent.duration.FiniteDuration OBSERVED_WAIT =
            scala.concurrent.duration.Duration.create(60, java.util.concurrent.TimeUnit.SECONDS);

    /**
     * Writes {@code rows} as {@link #write} does, their float, id and hash columns without dictionary encoding ({@link
     * #plainColumns}), and returns their {@link #contentSummary}, computed by the write's own tasks as they pass the
     * rows to Parquet, without a second pass over the files: Parquet stores every value as given, so it equals the
     * summary read back from them, and the driver takes what a task computed once, from its successful attempt. Tables
     * of the soft targets' types go straight to parquet-mr's column writers ({@link ColumnWrite}); any other goes
     * through Spark's writer with the summary observed ({@code Dataset.observe}), the log saying why. Should that
     * summary not arrive (a Spark build that does not observe writes), the written files are read back for it.
     */
    public static Row writeObserved(Dataset<Row> rows, String path) {
        String unsupported = ColumnWrite.unsupported(rows.sparkSession(), rows.schema());
        if (unsupported == null) {
            return ColumnWrite.write(rows, path, plainColumnPaths(rows.schema()));
        }
        org.slf4j.LoggerFactory.getLogger(TransferTables.class).info("writing {} through Spark's Parquet writer: {}",
                path, unsupported);
        org.apache.spark.sql.Observation observed = new org.apache.spark.sql.Observation(
                "written-" + java.util.UUID.randomUUID());
        Column[] s = summary(rows);
        write(rows.observe(observed, s[0], java.util.Arrays.copyOfRange(s, 1, s.length)), path,
                plainColumns(rows.schema()));
        try {
            return scala.concurrent.Await.result(observed.future(), OBSERVED_WAIT);
        } catch (java.util.concurrent.TimeoutException e) {
            org.slf4j.LoggerFactory.getLogger(TransferTables.class).warn("the write's observed content summary did"
                    + " not arrive within {}: reading {} back for it", OBSERVED_WAIT, path);
            return contentSummary(readStaged(rows.sparkSession(), path));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the write's content summary", e);
        }
    }

    /** The summary as a string for manifests: {@code xxhash64-sum:<rows>:<sum mod 2^64 in hex>}. */
    public static String contentHash(Row summary) {
        long folded = 0;
        for (int k = 0; k < SUM_SLICES; k++) {
            folded += summary.isNullAt(1 + k) ? 0 : summary.getLong(1 + k) << (SLICE_BITS * k); // wraps: mod 2^64
        }
        return "xxhash64-sum:" + summary.getLong(0) + ":" + String.format("%016x", folded);
    }

    /**
     * What to throw when Spark failed while reading {@code input}: the input error a task raised (bad row), a one-line
     * error for a corrupt Parquet file, or the original failure.
     */
    public static RuntimeException explain(Exception e, String input) {
        Throwable corrupt = null; // the deepest cause that says the file is damaged (outer ones quote it in full)
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof IllegalArgumentException || c instanceof IllegalStateException) {
                return (RuntimeException) c;
            }
            String msg = c.getMessage();
            if (msg != null && (msg.contains("is not a Parquet file") || msg.contains("Can not read value at")
                    || c.getClass().getSimpleName().equals("ChecksumException"))) {
                corrupt = c;
            }
        }
        if (corrupt != null) {
            return new IllegalArgumentException("corrupt Parquet input " + input + ": "
                    + corrupt.getMessage().lines().findFirst().orElse(""), e);
        }
        return e instanceof RuntimeException re ? re : new RuntimeException(e.getMessage(), e); // not an input error: exit 1
    }

    /** An int array column as a primitive array. */
    public static int[] ints(Row row, int field) {
        List<Integer> list = row.getList(field);
        int[] v = new int[list.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = list.get(i);
        }
        return v;
    }

    /** A float array column as a primitive array. */
    public static float[] floats(Row row, int field) {
        List<Float> list = row.getList(field);
        float[] f = new float[list.size()];
        for (int i = 0; i < f.length; i++) {
            Float v = list.get(i);
            f[i] = v == null ? Float.NaN : v;
        }
        return f;
    }
}
