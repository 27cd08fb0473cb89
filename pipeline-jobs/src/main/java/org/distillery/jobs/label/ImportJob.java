package org.distillery.jobs.label;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.IntegralType;
import org.apache.spark.sql.types.NumericType;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Black-box distillation's door: a teacher's outputs computed elsewhere (logits, probabilities, the top K classes with
 * their probabilities, or only a label) checked against the transfer set and published as a soft-target table that
 * train, evaluate, the reports and reruns take like one the label job computed. Every transfer id must appear exactly
 * once; values must be finite, of the transfer set's class count, and probabilities must sum to 1 within the stated
 * tolerance. Stored logits are the values themselves ({@code logits}), or the log of the probabilities (floored at
 * 1e-30, as for an ONNX teacher ending in Softmax): for {@code topk} the mass the K classes leave is spread evenly over
 * the others; a {@code label} is a one-hot distribution, so training on it is training on pseudo-labels. The manifest
 * names the teacher by the SHA-256 of the imported bytes and by {@code --teacher-name}.
 */
public final class ImportJob {
    private static final Logger LOG = LoggerFactory.getLogger(ImportJob.class);
    /** Probabilities below this are stored as log(FLOOR): a one-hot label becomes logits 0 and ln 1e-30 = -69.08. */
    static final float FLOOR = 1e-30f;
    private final SparkSession spark;

    public ImportJob(SparkSession spark) {
        this.spark = spark;
    }

    /**
     * The rules checked before Spark reads a row: the output rule, the transfer set (resolved here, once, and passed
     * on), the output's publish mode.
     */
    static ResolvedInput check(Storage storage, ImportConfig c) {
        OutputRule rule = OutputRule.of(storage).input("--transfer", c.transfer());
        if (!c.sourceFormat().equals("table")) {
            rule.input("--import", c.source());
        }
        rule.check("--out", c.out());
        if (c.mode() != PublishMode.INCREMENTAL) {
            StagedOutput.check(storage, c.out(), c.mode());
        }
        if (PartitionedTable.isPartitioned(storage, c.transfer())) {
            throw new IllegalArgumentException("--import takes one published transfer set; " + c.transfer()
                    + " is a partitioned table: import its partitions one by one");
        }
        ResolvedInput transfer = TransferTables.checkTransfer(storage, ResolvedInput.output(storage, c.transfer()));
        if (!c.sourceFormat().equals("table") && !storage.exists(c.source())) {
            throw new IllegalArgumentException("--import not found: " + c.source());
        }
        return transfer;
    }

    /** Checks what can be checked without Spark and says what the run would do. */
    public static DryRun dryRun(Storage storage, ImportConfig c) {
        ResolvedInput in = check(storage, c);
        Manifest transfer = in.manifest();
        return new DryRun("label").with("transfer", in.path() + " (manifest " + transfer.id() + ", "
                        + (long) transfer.number("rows") + " rows, " + (int) transfer.number(TransferSchema.CLASSES)
                        + " classes)")
                .with("import", c.source() + " (" + c.describe() + ", ids in " + c.idColumn() + ", values in "
                        + String.join(",", c.columns()) + (c.topkIndex() == null ? "" : ", classes in " + c.topkIndex())
                        + "; every row is checked by the run)")
                .with("teacher", c.teacherName())
                .with("temperature", c.temperature())
                .with("out", storage.qualify(c.out()) + " (" + StagedOutput.describe(storage, c.out(),
                        c.mode() == PublishMode.INCREMENTAL ? PublishMode.OVERWRITE : c.mode()) + ")");
    }

    public JobResult run(ImportConfig c) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        ResolvedInput in = check(storage, c);
        String sha256 = sourceSha256(c);
        Manifest kept = unchanged(storage, c, in.manifest(), sha256);
        if (kept != null) {
            LOG.info("incremental: {} was imported from the same bytes (sha256 {}) for this transfer set and T: kept",
                    storage.qualify(c.out()), sha256);
            return new JobResult("label", storage.qualify(c.out()), kept.id(), (long) kept.number("rows"),
                    (System.nanoTime() - start) / 1e9, Map.of("kept", "unchanged since manifest " + kept.id()));
        }
        TransferTables.Transfer transfer = TransferTables.readTransfer(spark, in);
        int classes = transfer.classes();
        Dataset<Row> values = values(c, read(c), classes);
        LOG.info("importing {} from {} (sha256 {}) for {}", c.describe(), c.source(), sha256, transfer.path());
        Dataset<Row> joined = joinChecked(transfer, values, c);
        SoftTargetLayout layout = SoftTargetLayout.v1(classes); // every logit in fp32 and the soft column
        Converter converter = new Converter(c.format(), classes, c.tolerance(), c.temperature());
        Dataset<Row> rows = spark.createDataFrame(joined.javaRDD().map(converter::row),
                TransferTables.softTargets(layout));
        PublishMode mode = c.mode() == PublishMode.INCREMENTAL ? PublishMode.OVERWRITE : c.mode();
        try (StagedOutput out = StagedOutput.begin(storage, c.out(), mode)) {
            Row summary; // computed by the writing tasks
            try {
                summary = TransferTables.writeObserved(rows, out.stagingDir());
            } catch (Exception e) {
                throw TransferTables.explain(e, c.source());
            } finally {
                joined.unpersist();
            }
            long count = summary.getLong(0);
            Dataset<Row> logits = TransferTables.denseLogits(TransferTables.readStaged(spark, out.stagingDir()),
                    layout);
            List<String> classNames = TransferTables.classNames(transfer.manifest(), classes);
            Map<String, Object> quality = LabelReports.quality(logits, classNames, c.temperature());
            storage.writeText(out.path(LabelReports.QUALITY), Manifest.json(quality));
            Map<String, Object> teacher = Map.of("path", c.source(), "sha256", sha256, "format", c.describe(),
                    "weight", 1.0, "name", c.teacherName());
            Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
            inputs.put("transfer", in.asInput());
            inputs.put("teacher", new Manifest.Input(c.sourceFormat().equals("table") ? c.source()
                    : storage.qualify(c.source()), null));
            Map<String, Object> facts = Manifest.facts("rows", count,
                    SoftTargetSchema.TEMPERATURE, c.temperature(), SoftTargetSchema.CLASSES, classes,
                    "teacherSha256", sha256, "teacherName", c.teacherName(), "teachers", List.of(teacher),
                    "ensemble", "none", "imported", c.format(), "contentHash", TransferTables.contentHash(summary),
                    TransferSchema.FEATURE_COUNT, transfer.featureCount(),
                    "classesMissingFromTransferSet", quality.get("classesMissingFromTransferSet"),
                    TransferSchema.CLASS_NAMES, classNames,
                    "incremental", "no (every row imported)", "drift", "none (not computed for imports)");
            facts.putAll(layout.facts());
            facts.put(org.distillery.jobs.common.InputHash.FACT, org.distillery.jobs.common.InputHash.VERSION);
            Manifest manifest = Manifest.sealed("label", c, inputs, facts, Versions.current(),
                    java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, count, start);
            LOG.info("imported {} rows of {} in {} s", count, c.describe(), String.format("%.1f", result.seconds()));
            return result;
        }
    }

    /** With {@code --mode incremental}, the published output when it was imported from the same bytes and config. */
    private static Manifest unchanged(Storage storage, ImportConfig c, Manifest transfer, String sha256) {
        if (c.mode() != PublishMode.INCREMENTAL || !storage.exists(c.out() + "/" + Manifest.SUCCESS)) {
            return null;
        }
        Manifest m = storage.publishedManifest(c.out());
        Manifest.Input from = m.inputs().get("transfer");
        boolean same = "label".equals(m.job()) && m.madeBy(c) && sha256.equals(m.facts().get("teacherSha256"))
                && from != null && transfer.id().equals(from.manifestId());
        return same ? m : null;
    }

    private Dataset<Row> read(ImportConfig c) {
        try {
            return c.sourceFormat().equals("table") ? spark.table(c.source())
                    : spark.read().format(c.sourceFormat()).options(c.options()).load(c.source());
        } catch (Exception e) {
            throw new IllegalArgumentException("cannot read --import " + c.source() + " as " + c.sourceFormat() + ": "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
        }
    }

    /**
     * (id long, values array&lt;double&gt; or label int[, topk classes array&lt;int&gt;]) of the imported table, after
     * checking its columns' presence and types.
     */
    static Dataset<Row> values(ImportConfig c, Dataset<Row> source, int classes) {
        StructType schema = source.schema();
        DataType id = type(schema, c.idColumn(), "--import-id");
        if (!(id instanceof IntegralType)) {
            throw new IllegalArgumentException("--import-id column '" + c.idColumn() + "' must hold the transfer set's"
                    + " integer ids, got " + id.simpleString());
        }
        List<Column> out = new ArrayList<>(List.of(col(c.idColumn()).cast(DataTypes.LongType).as("iid")));
        if (c.format().equals("label")) {
            DataType t = type(schema, c.columns().get(0), "--import-column");
            if (!(t instanceof IntegralType)) {
                throw new IllegalArgumentException("--import-format label needs an integer class column, but '"
                        + c.columns().get(0) + "' is " + t.simpleString());
            }
            out.add(col(c.columns().get(0)).cast(DataTypes.IntegerType).as("ivalue"));
        } else if (c.columns().size() == 1) {
            DataType t = type(schema, c.columns().get(0), "--import-column");
            if (!(t instanceof ArrayType a && a.elementType() instanceof NumericType)) {
                throw new IllegalArgumentException("--import-column '" + c.columns().get(0) + "' must be an array of"
                        + " numbers (or name one numeric column per class), got " + t.simpleString());
            }
            out.add(col(c.columns().get(0)).cast(DataTypes.createArrayType(DataTypes.DoubleType)).as("ivalue"));
        } else {
            for (String name : c.columns()) {
                DataType t = type(schema, name, "--import-column");
                if (!(t instanceof NumericType)) {
                    throw new IllegalArgumentException("--import-column '" + name + "' must be numeric, got "
                            + t.simpleString());
                }
            }
            out.add(functions.array(c.columns().stream().map(n -> col(n).cast(DataTypes.DoubleType))
                    .toArray(Column[]::new)).as("ivalue"));
        }
        if (c.topkIndex() != null) {
            DataType t = type(schema, c.topkIndex(), "--import-topk-index");
            if (!(t instanceof ArrayType a && a.elementType() instanceof IntegralType)) {
                throw new IllegalArgumentException("--import-topk-index column '" + c.topkIndex() + "' must be an"
                        + " array of class indices, got " + t.simpleString());
            }
            out.add(col(c.topkIndex()).cast(DataTypes.createArrayType(DataTypes.IntegerType)).as("iindex"));
        }
        if (!c.format().equals("label") && !c.format().equals("topk") && c.columns().size() > 1
                && c.columns().size() != classes) {
            throw new IllegalArgumentException("--import-column names " + c.columns().size() + " columns, the transfer"
                    + " set has " + classes + " classes");
        }
        return source.select(out.toArray(Column[]::new));
    }

    private static DataType type(StructType schema, String column, String flag) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(flag + " '" + column + "' not found in the import (has "
                    + String.join(", ", schema.fieldNames()) + ")");
        }
        return schema.apply(column).dataType();
    }

    /**
     * The transfer rows (id, label, input hash) joined with the imported values, after refusing null or repeated
     * import ids and any id present on one side only (each named, with the count).
     */
    private static Dataset<Row> joinChecked(TransferTables.Transfer transfer, Dataset<Row> values, ImportConfig c) {
        Row nullIds = values.filter(col("iid").isNull()).agg(functions.count(functions.lit(1))).first();
        if (nullIds.getLong(0) > 0) {
            throw new IllegalArgumentException(nullIds.getLong(0) + " rows of the import have a null "
                    + c.idColumn());
        }
        List<Row> repeated = values.groupBy("iid").count().filter(col("count").gt(1)).limit(1).collectAsList();
        if (!repeated.isEmpty()) {
            throw new IllegalArgumentException("id " + repeated.get(0).getLong(0) + " appears "
                    + repeated.get(0).getLong(1) + " times in the import (each transfer id must appear once)");
        }
        Dataset<Row> rows = transfer.rows().select(col(TransferSchema.ID), col(TransferSchema.LABEL),
                TransferTables.inputHash().as(SoftTargetSchema.INPUT_HASH));
        Dataset<Row> joined = rows.join(values, rows.col(TransferSchema.ID).equalTo(values.col("iid")), "full_outer")
                .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
        Row sides = joined.agg(functions.count(functions.when(col("iid").isNull(), 1)),
                functions.min(functions.when(col("iid").isNull(), col(TransferSchema.ID))),
                functions.count(functions.when(col(TransferSchema.ID).isNull(), 1)),
                functions.min(functions.when(col(TransferSchema.ID).isNull(), col("iid")))).first();
        if (sides.getLong(0) > 0) {
            joined.unpersist();
            throw new IllegalArgumentException(sides.getLong(0) + " transfer rows have no imported output, e.g. id "
                    + sides.getLong(1));
        }
        if (sides.getLong(2) > 0) {
            joined.unpersist();
            throw new IllegalArgumentException(sides.getLong(2) + " imported rows are not in the transfer set, e.g."
                    + " id " + sides.getLong(3));
        }
        return joined;
    }

    /**
     * The SHA-256 that names the imported teacher: of every data file of the source (sorted by path relative to it,
     * each as its path, its length and its bytes), so that any change to the imported outputs changes it.
     */
    private String sourceSha256(ImportConfig c) {
        List<String> files = new ArrayList<>();
        String root;
        if (c.sourceFormat().equals("table")) {
            files.addAll(Arrays.asList(spark.table(c.source()).inputFiles()));
            root = "";
        } else {
            root = Storage.of(spark).qualify(c.source());
            if (isFile(root)) {
                files.add(root);
            } else {
                Storage.of(spark).files(c.source()).keySet().forEach(name -> files.add(root + "/" + name));
            }
        }
        files.sort(null);
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (String file : files) {
                Path p = new Path(file);
                FileSystem fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
                String name = root.isEmpty() || file.equals(root) ? p.getName() : file.substring(root.length() + 1);
                sha.update((name + "\0" + fs.getFileStatus(p).getLen() + "\0").getBytes(
                        java.nio.charset.StandardCharsets.UTF_8));
                try (InputStream in = fs.open(p)) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        sha.update(buffer, 0, n);
                    }
                }
            }
            return java.util.HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --import " + c.source(), e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private boolean isFile(String path) {
        try {
            Path p = new Path(path);
            return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).getFileStatus(p).isFile();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --import " + path, e);
        }
    }

    /** Turns one joined row (id, label, input hash, iid, value[, classes]) into a soft-target row, checking it. */
    static final class Converter implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final String format;
        private final int classes;
        private final double tolerance;
        private final double temperature;

        Converter(String format, int classes, double tolerance, double temperature) {
            this.format = format;
            this.classes = classes;
            this.tolerance = tolerance;
            this.temperature = temperature;
        }

        Row row(Row r) {
            long id = r.getLong(0);
            Integer label = r.isNullAt(1) ? null : r.getInt(1);
            if (r.isNullAt(4)) {
                throw new IllegalArgumentException("imported " + format + " is null for id " + id);
            }
            float[] z = switch (format) {
                case "label" -> oneHot(r.getInt(4), id);
                case "logits" -> logits(doubles(r, 4, id), id);
                case "probabilities" -> logProbabilities(probabilities(doubles(r, 4, id), id));
                default -> logProbabilities(topK(doubles(r, 4, id), r.isNullAt(5) ? null : ints(r, 5), id));
            };
            if (label != null && (label < 0 || label >= classes)) {
                throw new IllegalArgumentException("label " + label + " out of range [0, " + classes + ") for id "
                        + id);
            }
            return RowFactory.create(id, label, z, SoftTargets.soften(z, temperature), r.getLong(2));
        }

        private float[] oneHot(int c, long id) {
            if (c < 0 || c >= classes) {
                throw new IllegalArgumentException("imported label " + c + " out of range [0, " + classes + ") for id "
                        + id);
            }
            float[] p = new float[classes];
            p[c] = 1f;
            return logProbabilities(p);
        }

        private float[] logits(double[] v, long id) {
            width(v, id);
            float[] z = new float[classes];
            for (int i = 0; i < classes; i++) {
                z[i] = (float) v[i];
                if (!Float.isFinite(z[i])) {
                    throw new IllegalArgumentException("non-finite imported logit " + v[i] + " for id " + id);
                }
            }
            return z;
        }

        private float[] probabilities(double[] v, long id) {
            width(v, id);
            float[] p = new float[classes];
            double sum = 0;
            for (int i = 0; i < classes; i++) {
                p[i] = probability(v[i], id);
                sum += v[i];
            }
            if (Math.abs(sum - 1) > tolerance) {
                throw new IllegalArgumentException("imported probabilities sum to " + sum + " for id " + id
                        + " (must be 1 within " + tolerance + ", --import-tolerance)");
            }
            return p;
        }

        private float[] topK(double[] v, int[] index, long id) {
            if (index == null || index.length != v.length || v.length == 0 || v.length > classes) {
                throw new IllegalArgumentException("imported top-k row for id " + id + " has " + v.length
                        + " probabilities and " + (index == null ? "no" : index.length) + " class indices (need the"
                        + " same number, 1 to " + classes + ")");
            }
            float[] p = new float[classes];
            boolean[] seen = new boolean[classes];
            double sum = 0;
            for (int k = 0; k < v.length; k++) {
                if (index[k] < 0 || index[k] >= classes || seen[index[k]]) {
                    throw new IllegalArgumentException("imported top-k class " + index[k] + " for id " + id + " is "
                            + (index[k] < 0 || index[k] >= classes ? "out of range [0, " + classes + ")" : "repeated"));
                }
                seen[index[k]] = true;
                p[index[k]] = probability(v[k], id);
                sum += v[k];
            }
            if (sum > 1 + tolerance || v.length == classes && Math.abs(sum - 1) > tolerance) {
                throw new IllegalArgumentException("imported top-k probabilities sum to " + sum + " for id " + id
                        + " (must be at most 1, within " + tolerance + ", --import-tolerance)");
            }
            float rest = (float) (Math.max(0, 1 - sum) / (classes - v.length));
            for (int i = 0; i < classes && v.length < classes; i++) {
                if (!seen[i]) {
                    p[i] = rest;
                }
            }
            return p;
        }

        private float probability(double v, long id) {
            if (!(v >= 0) || v > 1 + tolerance) {
                throw new IllegalArgumentException("imported probability " + v + " for id " + id
                        + " is not in [0, 1]");
            }
            return (float) v;
        }

        private void width(double[] v, long id) {
            if (v.length != classes) {
                throw new IllegalArgumentException("imported " + format + " for id " + id + " has " + v.length
                        + " values, the transfer set has " + classes + " classes");
            }
        }

        private static float[] logProbabilities(float[] p) {
            float[] z = new float[p.length];
            for (int i = 0; i < p.length; i++) {
                z[i] = (float) Math.log(Math.max(p[i], FLOOR));
            }
            return z;
        }

        private static double[] doubles(Row r, int field, long id) {
            List<Double> list = r.getList(field);
            double[] v = new double[list.size()];
            for (int i = 0; i < v.length; i++) {
                Double d = list.get(i);
                if (d == null) {
                    throw new IllegalArgumentException("imported value " + i + " is null for id " + id);
                }
                v[i] = d;
            }
            return v;
        }

        private static int[] ints(Row r, int field) {
            List<Integer> list = r.getList(field);
            return list.stream().mapToInt(i -> i == null ? -1 : i).toArray();
        }
    }
}
