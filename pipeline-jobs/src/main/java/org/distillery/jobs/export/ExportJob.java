package org.distillery.jobs.export;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.ModelFormat;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports a published student as ONNX: {@value #FP32_FILE} (and {@value #INT8_FILE} with int8 quantization), each
 * run by ONNX Runtime against DL4J's logits before anything is published (fp32 beyond {@link Verification}'s tolerance
 * is refused as a bug), a model card ({@value #CARD_JSON}, {@value #CARD_MD}) and a manifest chaining to the model's,
 * the calibration transfer set's and the evaluation's. Published atomically like every output.
 */
public final class ExportJob {
    private static final Logger LOG = LoggerFactory.getLogger(ExportJob.class);
    public static final String FP32_FILE = ModelArtifact.ONNX_FILE;
    public static final String INT8_FILE = "model-int8.onnx";
    public static final String CARD_JSON = "card.json";
    public static final String CARD_MD = "card.md";
    static final String EVALUATION_REPORT = "report.json";
    /** Rows that verify an fp32-only export without a calibration set: seeded uniform [0, 1) features. */
    static final int UNIFORM_ROWS = 256;
    private static final long SEED = 42;
    private final SparkSession spark;

    public ExportJob(SparkSession spark) {
        this.spark = spark;
    }

    /**
     * What {@link #check} established without Spark: the model and its plan, the transfer manifest that says the
     * example shape and preprocessing (the model's training transfer set, else the calibration set), and the
     * calibration set and evaluation output, each resolved once, when given.
     */
    record Checked(ModelArtifact model, MultiLayerNetwork net, NetworkPlan plan, Manifest transfer,
                   String transferPath, ResolvedInput calibration, ResolvedInput evaluation) {
        int[] shape() {
            return transfer == null ? new int[] {(int) plan.inputs()} : TransferSchema.shape(transfer);
        }

        /** The transfer manifest's preprocessing fact as it records it (null when none does). */
        Object recordedPreprocessing() {
            return transfer == null ? null : transfer.facts().get(TransferSchema.PREPROCESSING);
        }

        String preprocessing() {
            Object p = transfer == null ? null : transfer.facts().get(TransferSchema.PREPROCESSING);
            // ingest records the transform as constants (FeatureTransform#facts): stated as one JSON line, so a
            // consumer of raw values can apply it exactly
            return p instanceof Map<?, ?> ? Manifest.oneLine(p) : p != null ? p.toString() : transfer == null
                    ? "not recorded (no transfer manifest reachable from the model): features as the model was fed"
                    : "not recorded in transfer manifest " + transfer.id() + ": features as stored there";
        }
    }

    /** Every rule a run checks before Spark reads a row; bad input is one IllegalArgumentException. */
    static Checked check(Storage storage, ExportConfig c) {
        // before the existence rule: an output aliasing an input always exists, and that is the message that helps
        OutputRule.of(storage).input("--model", c.model()).input("--calibration", c.calibration())
                .input("--evaluation", c.evaluation()).check("--out", c.out());
        StagedOutput.check(storage, c.out(), c.mode());
        ModelArtifact model = ModelArtifact.read(storage, c.model());
        if (model.format() == ModelFormat.ONNX) {
            throw new IllegalArgumentException("model " + model.zipPath() + " is already ONNX; export reads DL4J zips"
                    + " and Keras HDF5 files");
        }
        MultiLayerNetwork net = model.network();
        NetworkPlan plan = NetworkPlan.of(net);
        ResolvedInput calibration = c.calibration() == null ? null
                : TransferTables.resolveTransfer(storage, c.calibration());
        if (calibration != null
                && (long) calibration.manifest().number(TransferSchema.FEATURE_COUNT) != plan.inputs()) {
            throw new IllegalArgumentException("calibration set has " + (long) calibration.manifest().number(
                    TransferSchema.FEATURE_COUNT) + " features, the model reads " + plan.inputs() + ": "
                    + c.calibration());
        }
        ResolvedInput evaluation = c.evaluation() == null ? null : ResolvedInput.output(storage, c.evaluation());
        if (evaluation != null && !"evaluate".equals(evaluation.manifest().job())) {
            throw new IllegalArgumentException("--evaluation must be an evaluate output, got a "
                    + evaluation.manifest().job() + " output: " + c.evaluation());
        }
        Manifest.Input trainedOn = model.manifest() == null ? null : model.manifest().inputs().get("transfer");
        Manifest transfer = trainedOn == null ? null : readable(storage, trainedOn);
        String transferPath = transfer != null ? trainedOn.path() : c.calibration();
        transfer = transfer != null ? transfer : calibration == null ? null : calibration.manifest();
        Checked checked = new Checked(model, net, plan, transfer, transferPath, calibration, evaluation);
        long values = java.util.Arrays.stream(checked.shape()).asLongStream().reduce(1, (a, b) -> a * b);
        if (values != plan.inputs()) {
            throw new IllegalArgumentException("transfer manifest " + transfer.id() + " says examples are "
                    + TransferSchema.describe(checked.shape()) + " (" + values + " values); the model reads "
                    + plan.inputs());
        }
        return checked;
    }

    /** The manifest at {@code in} when it is still the one recorded, else null (the chain in the card says why). */
    private static Manifest readable(Storage storage, Manifest.Input in) {
        try {
            Manifest m = TransferTables.published(storage, in.path());
            return m.id().equals(in.manifestId()) ? m : null;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, ExportConfig c) {
        Checked k = check(storage, c);
        DryRun plan = new DryRun("export").with("model", k.model().zipPath() + " (sha256 " + k.model().sha256()
                + (k.model().manifest() == null ? "" : ", manifest " + k.model().manifest().id()) + ")")
                .with("graph", describe(k.plan()) + ", opset " + OnnxWriter.OPSET + ", IR " + OnnxWriter.IR_VERSION)
                .with("exampleShape", TransferSchema.describe(k.shape()))
                .with("files", c.int8() ? List.of(FP32_FILE, INT8_FILE) : List.of(FP32_FILE));
        if (k.calibration() != null) {
            plan.with("calibration", k.calibration().path() + " (manifest " + k.calibration().manifest().id()
                    + ", up to "
                    + c.calibrationRows() + " rows)");
        }
        if (k.evaluation() != null) {
            plan.with("evaluation", k.evaluation().path() + " (manifest " + k.evaluation().manifest().id() + ")");
        }
        return plan.with("out", storage.qualify(c.out()) + " (" + StagedOutput.describe(storage, c.out(), c.mode())
                + ")");
    }

    public JobResult run(ExportConfig c) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Checked k = check(storage, c);
        INDArray rows = c.calibration() == null ? uniform(k.plan().inputs())
                : sample(k.calibration(), c.calibrationRows(), k.plan().inputs());
        float[][] dl4j = Verification.logits(new LogitModel(k.net()), rows);
        String version = Versions.distillery();
        Map<String, byte[]> files = new LinkedHashMap<>();
        Map<String, Object> verification = new LinkedHashMap<>();
        files.put(FP32_FILE, OnnxExport.fp32(k.plan(), version, metadata(k, c, null)));
        Verification fp32 = verify(files.get(FP32_FILE), FP32_FILE, rows, dl4j);
        if (!fp32.withinFp32Tolerance()) {
            throw new IllegalStateException("the fp32 graph's logits differ from DL4J's by " + fp32.maxRelDiff()
                    + " of the row's scale on " + fp32.rows() + " rows, beyond " + Verification.FP32_RELATIVE
                    + ": not published (a bug in the export of " + describe(k.plan()) + ")");
        }
        verification.put("fp32", fp32.describe(true));
        ActivationRanges ranges = null;
        if (c.int8()) {
            ranges = ActivationRanges.measure(k.net(), k.plan(), rows, c.percentile());
            files.put(INT8_FILE, OnnxExport.int8(k.plan(), ranges, version, metadata(k, c, ranges)));
            Verification int8 = verify(files.get(INT8_FILE), INT8_FILE, rows, dl4j);
            verification.put("int8", int8.describe(false));
            if (int8.agreement() < 0.99) {
                LOG.warn("int8 graph keeps DL4J's argmax on {} of {} calibration rows only", int8.agreement(),
                        int8.rows());
            }
        }
        verification.put("rows", c.calibration() == null ? UNIFORM_ROWS + " seeded uniform [0, 1) rows (no"
                + " --calibration)" : rows.size(0) + " calibration rows");
        Map<String, Map<String, Object>> fileFacts = new LinkedHashMap<>();
        files.forEach((name, bytes) -> fileFacts.put(name, fileFacts(name, bytes, rows, c.latencyRuns())));
        Map<String, Object> facts = facts(k, c, fileFacts, verification, ranges, rows.size(0));
        Map<String, Object> card = ModelCard.build(storage, k, c, facts);
        try (StagedOutput out = StagedOutput.begin(storage, c.out(), c.mode())) {
            files.forEach((name, bytes) -> storage.writeBytes(out.path(name), bytes));
            storage.writeText(out.path(CARD_JSON), Manifest.json(card));
            storage.writeText(out.path(CARD_MD), ModelCard.markdown(card));
            Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
            inputs.put("model", k.model().asInput());
            if (k.calibration() != null) {
                inputs.put("calibration", k.calibration().asInput());
            }
            if (k.evaluation() != null) {
                inputs.put("evaluation", k.evaluation().asInput());
            }
            Manifest manifest = Manifest.sealed("export", c, inputs, facts, Versions.current(),
                    java.time.Instant.now().toString());
            JobResult result = out.publish(manifest, rows.size(0), start);
            LOG.info("exported {} as {} ({} verification rows)", k.model().zipPath(), files.keySet(), rows.size(0));
            return new JobResult(result.job(), result.path(), result.manifestId(), result.rows(), result.seconds(),
                    Map.of("files", List.copyOf(files.keySet())));
        }
    }

    private static Verification verify(byte[] model, String name, INDArray rows, float[][] dl4j) {
        LogitFunction onnx = Models.teacher(model, name);
        return Verification.compare(dl4j, Verification.logits(onnx, rows));
    }

    private static Map<String, Object> fileFacts(String name, byte[] bytes, INDArray rows, int runs) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("bytes", (long) bytes.length);
        f.put("sha256", Models.sha256(bytes));
        f.put("latencyMsP50", Verification.latencyMillis(Models.teacher(bytes, name), rows, runs));
        return f;
    }

    private static String describe(NetworkPlan plan) {
        return plan.steps().stream().map(s -> s.getClass().getSimpleName()).toList() + " " + plan.inputs() + " -> "
                + plan.classes();
    }

    /** The metadata_props of a graph: how to feed it and what it returns, and where it came from. */
    private static Map<String, String> metadata(Checked k, ExportConfig c, ActivationRanges ranges) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("distillery.input", inputLayout(k));
        m.put("distillery.example_shape", TransferSchema.describe(k.shape()));
        m.put("distillery.preprocessing", k.preprocessing());
        m.put("distillery.output", outputMeaning(k));
        m.put("distillery.source_sha256", k.model().sha256());
        m.put("distillery.source_manifest", k.model().manifest() == null ? "none" : k.model().manifest().id());
        m.put("distillery.transfer_manifest", k.transfer() == null ? "none" : k.transfer().id());
        m.put("distillery.quantization", ranges == null ? "none (float32)" : quantization(c, ranges));
        return m;
    }

    static String inputLayout(Checked k) {
        return "float32 [batch, " + k.plan().inputs() + "]: one example per row, flattened row-major from example shape "
                + TransferSchema.describe(k.shape()) + (k.shape().length == 3 ? " (channels first: C, H, W)" : "");
    }

    static String outputMeaning(Checked k) {
        return "float32 [batch, " + k.plan().classes() + "]: raw logits; softmax(logits / T) is the class distribution"
                + " at temperature T";
    }

    private static String quantization(ExportConfig c, ActivationRanges r) {
        return "int8 QDQ, static: weights per output channel, symmetric; activations per tensor, asymmetric, from "
                + r.rows() + " rows of " + c.calibration() + " ("
                + (r.percentile() == 100 ? "min/max" : r.percentile() + "th percentile") + "); bias int32; logits float";
    }

    private static Map<String, Object> facts(Checked k, ExportConfig c, Map<String, Map<String, Object>> files,
                                             Map<String, Object> verification, ActivationRanges ranges, long rows) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("format", "onnx");
        f.put("irVersion", OnnxWriter.IR_VERSION);
        f.put("opset", OnnxWriter.OPSET);
        f.put("input", OnnxExport.INPUT);
        f.put("output", OnnxExport.OUTPUT);
        f.put(TransferSchema.FEATURE_COUNT, k.plan().inputs());
        f.put(TransferSchema.CLASSES, k.plan().classes());
        f.put(TransferSchema.SHAPE, java.util.Arrays.stream(k.shape()).boxed().toList());
        if (k.recordedPreprocessing() != null) { // as recorded: compared with the data the model is scored on
            f.put(TransferSchema.PREPROCESSING, k.recordedPreprocessing());
        }
        f.put("parameters", k.net().numParams());
        f.put("architecture", k.model().manifest() != null && k.model().manifest().facts().containsKey("architecture")
                ? k.model().manifest().text("architecture") : describe(k.plan()));
        f.put("sourceSha256", k.model().sha256());
        f.put("sourceBytes", (long) k.model().bytes().length);
        f.put("files", files);
        f.put("verification", verification);
        f.put("rows", rows);
        if (ranges != null) {
            Map<String, Object> q = new LinkedHashMap<>();
            q.put("scheme", "QDQ (QuantizeLinear/DequantizeLinear), static");
            q.put("weights", "int8 per output channel, symmetric (zero point 0, scale max|w| / 127)");
            q.put("activations", "int8 per tensor, asymmetric (range widened to hold 0)");
            q.put("method", ranges.percentile() == 100 ? "min/max" : ranges.percentile() + "th percentile");
            q.put("calibrationRows", ranges.rows());
            q.put("calibrationManifest", k.calibration().manifest().id());
            q.put("activationRanges", ranges.describe());
            f.put("quantization", q);
        }
        return f;
    }

    /** Up to {@code n} rows of the transfer set, a sample fixed by a hash of the row id (not by partitioning). */
    private INDArray sample(ResolvedInput calibration, int n, long width) {
        String path = calibration.given();
        TransferTables.Transfer t = TransferTables.readTransfer(spark, calibration);
        List<Row> rows = t.rows().select(TransferSchema.ID, TransferSchema.FEATURES)
                .orderBy(functions.xxhash64(functions.col(TransferSchema.ID)), functions.col(TransferSchema.ID))
                .limit(n).collectAsList();
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("calibration set has no rows: " + path);
        }
        float[] x = new float[Math.toIntExact(rows.size() * width)];
        for (int i = 0; i < rows.size(); i++) {
            float[] f = TransferTables.floats(rows.get(i), 1);
            if (f.length != width) {
                throw new IllegalArgumentException("feature length " + f.length + " != " + width + " for id "
                        + rows.get(i).getLong(0) + " in " + path);
            }
            System.arraycopy(f, 0, x, (int) (i * width), (int) width);
        }
        return Nd4j.create(x, new long[] {rows.size(), width}, DataType.FLOAT);
    }

    private static INDArray uniform(long width) {
        SplittableRandom rng = new SplittableRandom(SEED);
        float[] x = new float[Math.toIntExact(UNIFORM_ROWS * width)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextDouble();
        }
        return Nd4j.create(x, new long[] {UNIFORM_ROWS, width}, DataType.FLOAT);
    }
}
