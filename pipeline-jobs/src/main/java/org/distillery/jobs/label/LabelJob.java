package org.distillery.jobs.label;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.Progress;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetCodec;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Labels a transfer set with a frozen teacher: raw logits (all in fp32, as version 1, or in the layout of the run's
 * storage options: fp16, top-K) and optionally softmax(logits / T) per row, written as Parquet and published with a
 * manifest that names the teacher by SHA-256, records the storage layout and chains to the transfer set's manifest.
 * A text transfer set is labelled by a teacher LM with token-level soft targets ({@link TokenLabel}).
 */
public final class LabelJob {
    private static final Logger LOG = LoggerFactory.getLogger(LabelJob.class);
    private final SparkSession spark;

    public LabelJob(SparkSession spark) {
        this.spark = spark;
    }

    /** What {@link #check} established without Spark: the transfer set resolved once, and the teachers. */
    record Checked(ResolvedInput transfer, List<ModelArtifact> teachers, LogitFunction model, SoftTargetLayout layout) {
        Manifest transferManifest() {
            return transfer.manifest();
        }

        int featureCount() {
            return (int) transfer.manifest().number(TransferSchema.FEATURE_COUNT);
        }

        ModelArtifact teacher() {
            return teachers.get(0);
        }

        /** These teachers on the resolved transfer set {@code transfer}. */
        Checked on(ResolvedInput transfer) {
            return new Checked(transfer, teachers, model, layout);
        }

        /**
         * The teacher's SHA-256 ({@link ModelArtifact#sha256()}), or with an ONNX output named, the SHA-256 of
         * {@code SHA256#OUTPUT}; for an ensemble, the SHA-256 of the averaging and the members' hashes (so named) and
         * weights. What incremental runs compare to tell whether the teacher changed.
         */
        String sha256(LabelConfig config) {
            if (teachers.size() == 1) {
                return member(config, 0);
            }
            StringBuilder b = new StringBuilder(config.teachers().ensemble());
            double[] w = config.normalisedWeights();
            for (int i = 0; i < teachers.size(); i++) {
                b.append(',').append(member(config, i)).append(':').append(w[i]);
            }
            return org.distillery.model.nn.Models.sha256(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }

        private String member(LabelConfig config, int i) {
            String sha = teachers.get(i).sha256();
            String output = config.teacherOutput(i);
            return output == null ? sha : org.distillery.model.nn.Models.sha256((sha + "#" + output)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    /**
     * Every rule a run on one published transfer set checks before Spark reads a row; a dry run stops here. The
     * transfer set is resolved here, once, and the result carries it to the end of the run.
     */
    static Checked check(Storage storage, LabelConfig config) {
        StagedOutput.check(storage, config.out(), config.mode());
        if (config.teachers().vocabularySha256() != null) {
            throw new IllegalArgumentException("--vocabulary-sha256 checks the vocabulary of a text transfer set, but "
                    + config.transfer() + " is a transfer set of feature rows");
        }
        // one published table: a partitioned transfer set took the other way at the door (run, dryRun)
        ResolvedInput transfer = TransferTables.checkTransfer(storage,
                ResolvedInput.output(storage, config.transfer()));
        if (!config.partitions().isEmpty()) {
            throw new IllegalArgumentException("--partition needs a partitioned transfer set (a directory of"
                    + " COLUMN=VALUE partitions, each a published transfer set), but " + config.transfer()
                    + " is one published table");
        }
        return checkTeachers(storage, config, TransferSchema.shape(transfer.manifest())).on(transfer);
    }

    /**
     * The teacher rules (pinned SHA-256s, input against the example shape {@code shape}, outputs, class counts, hint
     * layer) for a transfer set of examples of that shape: a Checked without its transfer set.
     */
    static Checked checkTeachers(Storage storage, LabelConfig config, int[] shape) {
        List<ModelArtifact> teachers = new java.util.ArrayList<>();
        LogitFunction first = null;
        List<String> pins = config.teachers().sha256s();
        for (int i = 0; i < config.teachers().paths().size(); i++) {
            ModelArtifact teacher = ModelArtifact.read(storage, config.teachers().paths().get(i));
            if (!pins.isEmpty() && !pins.get(i).equals(teacher.sha256())) {
                throw new IllegalArgumentException("teacher SHA-256 mismatch: --teacher-sha256 " + pins.get(i)
                        + " but " + teacher.zipPath() + " has " + teacher.sha256());
            }
            String output = config.teacherOutput(i);
            LogitFunction model = TeacherCache.forChecks(TeacherCache.key(teacher.sha256(), output, shape),
                    () -> teacher.teacher(shape, output));
            if (first != null && model.classes() != first.classes()) {
                throw new IllegalArgumentException("teachers have different class counts: " + teachers.get(0).zipPath()
                        + " has " + first.classes() + ", " + teacher.zipPath() + " has " + model.classes());
            }
            first = first == null ? model : first;
            teachers.add(teacher);
        }
        SoftTargetLayout layout = config.layout(first.classes());
        if (config.stored().hintLayer() != null) {
            if (!(first instanceof LogitModel dl4j)) {
                throw new IllegalArgumentException("--hint-layer reads the layers of a DL4J or Keras teacher, but "
                        + teachers.get(0).zipPath() + " is " + teachers.get(0).format().label());
            }
            layout = layout.withHint(config.stored().hintLayer(), dl4j.layerWidth(config.stored().hintLayer()));
        }
        return new Checked(null, teachers, first, layout);
    }

    /** The output rule: --out is none of the inputs, in none of them, holds none of them, and can be created. */
    static void checkOutput(Storage storage, LabelConfig config) {
        OutputRule.of(storage).input("--transfer", config.transfer()).inputs("--teacher", config.teachers().paths())
                .check("--out", config.out());
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    /**
     * The default teacher call of {@code transfer}: {@link LabelConfig#DEFAULT_TEXT_BATCH} tokens for a text transfer
     * set, else {@link LabelConfig#DEFAULT_BATCH} rows.
     */
    public static int defaultBatchSize(Storage storage, String transfer) {
        return transfer != null && TokenLabel.isText(storage, transfer) ? LabelConfig.DEFAULT_TEXT_BATCH
                : LabelConfig.DEFAULT_BATCH;
    }

    public static DryRun dryRun(Storage storage, LabelConfig config) {
        checkOutput(storage, config);
        if (TokenLabel.isText(storage, config.transfer())) {
            return TokenLabel.dryRun(storage, config);
        }
        if (PartitionedTable.isPartitioned(storage, config.transfer())) {
            return PartitionedLabel.plan(storage, config).dryRun(storage, config);
        }
        Checked c = check(storage, config);
        DryRun plan = new DryRun("label")
                .with("transfer", c.transfer().path() + " (manifest " + c.transferManifest().id() + ", "
                        + (long) c.transferManifest().number("rows") + " rows, example shape "
                        + TransferSchema.describe(TransferSchema.shape(c.transferManifest())) + ")");
        double[] w = config.normalisedWeights();
        for (int i = 0; i < c.teachers().size(); i++) {
            ModelArtifact t = c.teachers().get(i);
            plan.with(i == 0 ? "teacher" : "teacher" + (i + 1), t.zipPath() + " (" + t.format().label() + ", sha256 "
                    + t.sha256() + (t.file().sideFiles().isEmpty() ? "" : " with " + t.file().sideFiles().size()
                    + " external data file" + (t.file().sideFiles().size() == 1 ? "" : "s")) + ", "
                    + c.model().inputs() + " -> " + c.model().classes() + " classes"
                    + (c.teachers().size() > 1 ? ", weight " + w[i] : "") + ")");
        }
        if (c.teachers().size() > 1) {
            plan.with("ensemble", config.teachers().ensemble() + " averaging");
        }
        return plan.with("temperature", config.temperature())
                .with("storage", c.layout().describe())
                .with("out", storage.qualify(config.out()) + " ("
                        + Objects.requireNonNullElseGet(unchanged(storage, config, c),
                                () -> StagedOutput.describe(storage, config.out(), config.mode())) + ")");
    }

    /**
     * The drift report against the output this run replaces, or null when there is none to compare with. Both are
     * compared as dense logits, each decoded by its own layout.
     */
    private Map<String, Object> drift(Storage storage, LabelConfig config, String target,
                                      java.util.function.Supplier<Dataset<Row>> written, List<String> classNames,
                                      String teacherSha256) {
        int classes = classNames.size();
        if (!config.mode().replaces() || !storage.exists(target + "/" + Manifest.SUCCESS)) {
            return null;
        }
        Manifest previous = storage.publishedManifest(target);
        if (!"label".equals(previous.job())) {
            return null;
        }
        if ((int) previous.number(SoftTargetSchema.CLASSES) != classes) {
            LOG.warn("no drift report: the previous output has {} classes, this one {}",
                    (int) previous.number(SoftTargetSchema.CLASSES), classes);
            return null;
        }
        SoftTargetLayout before;
        try {
            before = SoftTargetLayout.read(previous, target);
        } catch (IllegalStateException e) {
            LOG.warn("no drift report: the output being replaced is not readable by this build ({})", e.getMessage());
            return null;
        }
        Map<String, Object> d = LabelReports.drift(TransferTables.denseLogits(
                TransferTables.readPublished(spark, target), before), written.get(), classNames, config.temperature(),
                previous.id(), previous.text("teacherSha256"), teacherSha256);
        LOG.info("label drift against the previous output (manifest {}): {} of {} rows changed, {} argmax flips,"
                + " mean KL(previous || new) {}", previous.id(), d.get("rowsChanged"), d.get("rowsCompared"),
                d.get("argmaxFlips"), d.get("meanKlPreviousToNew"));
        return d;
    }

    /**
     * Labels {@code config}'s transfer set and publishes the soft targets; a partitioned transfer set partition by
     * partition ({@link PartitionedLabel}).
     */
    public JobResult run(LabelConfig config) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        checkOutput(storage, config);
        if (TokenLabel.isText(storage, config.transfer())) {
            return new TokenLabel(spark).run(config, start);
        }
        if (PartitionedTable.isPartitioned(storage, config.transfer())) {
            return PartitionedLabel.plan(storage, config).run(this, storage, config, start);
        }
        Checked checked = check(storage, config);
        String unchanged = unchanged(storage, config, checked);
        if (unchanged != null) {
            Manifest kept = storage.publishedManifest(config.out());
            LOG.info("incremental: {} is {}: nothing to label", storage.qualify(config.out()), unchanged);
            return new JobResult("label", storage.qualify(config.out()), kept.id(), (long) kept.number("rows"),
                    (System.nanoTime() - start) / 1e9, Map.of("kept", unchanged));
        }
        return run(config, checked, start);
    }

    /** With {@code --mode incremental}, why the published output can be kept as it is; otherwise null. */
    private static String unchanged(Storage storage, LabelConfig config, Checked checked) {
        String target = storage.qualify(config.out());
        if (config.mode() != org.distillery.jobs.common.PublishMode.INCREMENTAL
                || !storage.exists(target + "/" + Manifest.SUCCESS)) {
            return null;
        }
        return Incremental.unchanged(storage.publishedManifest(target), checked.transferManifest(),
                checked.sha256(config), checked.layout(), config.temperature(), target);
    }

    /** Labels one published transfer set ({@code checked}) into {@code config.out()}. */
    JobResult run(LabelConfig config, Checked checked, long start) {
        Storage storage = Storage.of(spark);
        TransferTables.Transfer transfer = TransferTables.readTransfer(spark, checked.transfer());
        Labelling labelling = labelling(config, checked, transfer);
        Incremental incremental = plan(storage, config, checked, transfer);
        Labelled labelled = label(labelling, incremental, transfer, checked, config.temperature());
        try (StagedOutput out = StagedOutput.begin(storage, config.out(), config.mode());
             Progress progress = Progress.watch(spark.sparkContext(), "label", 10)) {
            Written written = write(labelled, out, transfer);
            Reports reports = report(storage, config, checked, transfer, out, written);
            return publish(config, checked, transfer, out, written, reports, incremental, start);
        } finally {
            labelling.teachers().destroy();
            if (incremental != null) {
                incremental.release();
            }
        }
    }

    /** The teachers broadcast as one ensemble and the inference that runs them over transfer rows. */
    private record Labelling(TeacherEnsemble teachers, TeacherInference inference, SoftTargetCodec codec) {
    }

    /**
     * What a run wrote: its rows (read back from staging only by the reports that need them), their content summary
     * and quality tallies (null: none) as the writing tasks computed them, and their count.
     */
    private record Written(java.util.function.Supplier<Dataset<Row>> rows, Row summary, LabelReports.Tally tally,
                           long count) {
    }

    /** The soft-target rows to write and, when all come out of the teacher, their quality tallies (else null). */
    private record Labelled(Dataset<Row> rows, LabelReports.Tally tally) {
    }

    /** What the label reports found: the class names, classes the transfer set lacks, drift (null: no previous). */
    private record Reports(List<String> classNames, Object missing, Map<String, Object> drift) {
    }

    private Labelling labelling(LabelConfig config, Checked checked, TransferTables.Transfer transfer) {
        LOG.info("labeling {} with {} (sha256 {}), T={}, storing {}", transfer.path(), checked.teachers().size() == 1
                ? "teacher " + checked.teacher().zipPath() : checked.teachers().size() + " teachers ("
                + config.teachers().ensemble() + " averaging)", checked.sha256(config), config.temperature(),
                checked.layout().describe());
        LOG.info("teacher inference: {}", checked.model().describe());
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<Broadcast<ModelFile>> files = new java.util.ArrayList<>();
        List<String> outputs = new java.util.ArrayList<>();
        for (int i = 0; i < checked.teachers().size(); i++) {
            files.add(jsc.broadcast(checked.teachers().get(i).file()));
            outputs.add(config.teacherOutput(i));
        }
        TeacherEnsemble teachers = new TeacherEnsemble(checked.teachers().stream().map(ModelArtifact::sha256).toList(),
                files, outputs, TransferSchema.shape(transfer.manifest()), config.normalisedWeights(),
                config.teachers().ensemble(), config.temperature());
        SoftTargetCodec codec = new SoftTargetCodec(checked.layout());
        return new Labelling(teachers, new TeacherInference(teachers, transfer.featureCount(), config.temperature(),
                config.batchSize(), codec, checked.layout().hintLayer()), codec);
    }

    /** With {@code --mode incremental}, which rows go through the teacher; null: every row. */
    private Incremental plan(Storage storage, LabelConfig config, Checked checked, TransferTables.Transfer transfer) {
        return Incremental.plan(spark, storage, config, storage.qualify(config.out()), transfer.manifest().id(),
                checked.sha256(config), checked.layout(),
                checked.teachers().size() > 1 && config.teachers().ensemble().equals("prob"));
    }

    private Labelled label(Labelling labelling, Incremental incremental, TransferTables.Transfer transfer,
                           Checked checked, double temperature) {
        org.apache.spark.sql.types.StructType schema = TransferTables.softTargets(checked.layout());
        Dataset<Row> input = transfer.rows().select(TransferSchema.ID, TransferSchema.FEATURES, TransferSchema.LABEL)
                .withColumn(SoftTargetSchema.INPUT_HASH, TransferTables.inputHash());
        if (incremental != null && incremental.fullRelabelReason() == null) {
            return new Labelled(incremental.label(input, labelling.inference(), labelling.codec()), null);
        }
        LabelReports.Tally tally = new LabelReports.Tally(checked.model().classes(), temperature);
        spark.sparkContext().register(tally, "label quality tallies");
        TeacherInference inference = labelling.inference().tallied(tally);
        FeatureBatches batches = FeatureBatches.plan(transfer.rows());
        org.apache.spark.api.java.JavaRDD<InternalRow> rows = batches.accepted() ? inference.internalOver(batches)
                : FeatureBatches.balanced(spark, () -> inference.internalOver(input));
        // Spark's own constructor for internal rows (public in bytecode, private[sql] in Scala): the rows go to the
        // writer as made, without the per-value conversion createDataFrame applies to Rows
        return new Labelled(spark.internalCreateDataFrame(rows.rdd(), schema, false), tally);
    }

    /**
     * Writes the soft targets to staging, with their content summary computed by the writing tasks, and checks that
     * every transfer row got one (as the tasks counted and as the files' footers say).
     */
    private Written write(Labelled labelled, StagedOutput out, TransferTables.Transfer transfer) {
        String dir = out.stagingDir();
        Row observed;
        try {
            observed = TransferTables.writeObserved(labelled.rows(), dir);
        } catch (Exception e) {
            throw TransferTables.explain(e, transfer.path());
        }
        long rows = observed.getLong(0);
        long inFiles = TransferTables.countRows(spark, dir);
        long expected = (long) transfer.manifest().number("rows");
        if (rows != expected || inFiles != expected) {
            throw new RuntimeException("internal error: wrote " + rows + " soft-target rows (" + inFiles
                    + " in the files' footers) for " + expected + " transfer rows");
        }
        var staged = new java.util.concurrent.atomic.AtomicReference<Dataset<Row>>();
        return new Written(() -> staged.updateAndGet(d -> d != null ? d : TransferTables.readStaged(spark, dir)),
                observed, labelled.tally(), rows); // read back once, and only by a report that needs the rows
    }

    /** Writes the quality report and, when an output is replaced, the drift from it. */
    private Reports report(Storage storage, LabelConfig config, Checked checked, TransferTables.Transfer transfer,
                           StagedOutput out, Written written) {
        List<String> classNames = TransferTables.classNames(transfer.manifest(), checked.model().classes());
        java.util.function.Supplier<Dataset<Row>> logits = () -> TransferTables.denseLogits(written.rows().get(),
                checked.layout()); // what readers will see
        Map<String, Object> quality = written.tally() != null ? LabelReports.quality(written.tally(), classNames)
                : LabelReports.quality(logits.get(), classNames, config.temperature()); // reused and relabelled rows
        storage.writeText(out.path(LabelReports.QUALITY), Manifest.json(quality));
        Object missing = quality.get("classesMissingFromTransferSet");
        if (!((java.util.List<?>) missing).isEmpty()) {
            LOG.warn("classes missing from the transfer set {}: {} {} (the student learns them from soft targets"
                    + " only)", transfer.path(), missing, quality.get("classNamesMissingFromTransferSet"));
        }
        Map<String, Object> drift = drift(storage, config, out.target(), logits, classNames, checked.sha256(config));
        if (drift != null) {
            storage.writeText(out.path(LabelReports.DRIFT), Manifest.json(drift));
        }
        return new Reports(classNames, missing, drift);
    }

    /** Publishes the output with its manifest: inputs, teachers, counts, storage layout, reports' findings. */
    private JobResult publish(LabelConfig config, Checked checked, TransferTables.Transfer transfer,
                              StagedOutput out, Written written, Reports reports, Incremental incremental,
                              long start) {
        List<Map<String, Object>> members = members(config, checked);
        Map<String, Object> drift = reports.drift();
        Map<String, Object> facts = Manifest.facts("rows", written.count(),
                SoftTargetSchema.TEMPERATURE, config.temperature(),
                SoftTargetSchema.CLASSES, checked.model().classes(), "teacherSha256", checked.sha256(config),
                "teachers", members, "ensemble", members.size() == 1 ? "none" : config.teachers().ensemble(),
                "contentHash", TransferTables.contentHash(written.summary()),
                TransferSchema.FEATURE_COUNT, transfer.featureCount(),
                "classesMissingFromTransferSet", reports.missing(),
                "incremental", incremental == null ? "no (every row labelled)"
                        : incremental.facts(written.rows().get(), written.count()),
                "drift", drift == null ? "none (no previous output)" : Map.of(
                        "previousManifest", drift.get("previousManifest"),
                        "rowsChanged", drift.get("rowsChanged"), "argmaxFlips", drift.get("argmaxFlips"),
                        "meanKlPreviousToNew", String.valueOf(drift.get("meanKlPreviousToNew"))));
        facts.putAll(checked.layout().facts()); // schema version, precision, topK, softStored
        facts.put(org.distillery.jobs.common.InputHash.FACT, org.distillery.jobs.common.InputHash.VERSION);
        facts.put(TransferSchema.CLASS_NAMES, reports.classNames());
        Manifest manifest = Manifest.sealed("label", config, inputs(transfer, checked), facts, Versions.current(),
                java.time.Instant.now().toString());
        JobResult result = out.publish(manifest, written.count(), start);
        LOG.info("labelled {} rows in {} s ({} rows/s)", written.count(), String.format("%.1f", result.seconds()),
                Math.round(written.count() / result.seconds()));
        return result;
    }

    /** The transfer set, then each teacher in order (teacher, teacher2, ...). */
    private static Map<String, Manifest.Input> inputs(TransferTables.Transfer transfer, Checked checked) {
        Map<String, Manifest.Input> inputs = new java.util.LinkedHashMap<>();
        inputs.put("transfer", new Manifest.Input(transfer.path(), transfer.manifest().id()));
        for (int i = 0; i < checked.teachers().size(); i++) {
            inputs.put(i == 0 ? "teacher" : "teacher" + (i + 1), checked.teachers().get(i).asInput());
        }
        return inputs;
    }

    /** Each teacher as the manifest lists it: path, checksum, format, normalised weight, ONNX output read. */
    private static List<Map<String, Object>> members(LabelConfig config, Checked checked) {
        List<Map<String, Object>> members = new java.util.ArrayList<>();
        for (int i = 0; i < checked.teachers().size(); i++) {
            ModelArtifact t = checked.teachers().get(i);
            Map<String, Object> member = new java.util.LinkedHashMap<>(Map.of("path", t.zipPath(), "sha256",
                    t.sha256(), "format", t.format().label(), "weight", config.normalisedWeights()[i]));
            if (config.teacherOutput(i) != null) {
                member.put("output", config.teacherOutput(i));
            }
            members.add(member);
        }
        return members;
    }
}
