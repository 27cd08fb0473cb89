package org.distillery.jobs.calibrate;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.layers.BaseOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.LabelledSet;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.ResolvedInput;
import org.distillery.jobs.common.Scoring;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.evaluate.Metrics;
import org.distillery.jobs.export.Verification;
import org.distillery.model.calibration.Calibration;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fits the calibration evaluate reports (temperature scaling, per-class bias correction: {@link Calibration}) on a
 * validation split and folds it into the model's output layer: {@code W' = W / T}, {@code b' = b / T + bias}, so the
 * published network's logits are {@code z / T + bias} and any consumer (evaluate, export, a DL4J service) gets the
 * calibrated model without knowing about it. The folded network is checked against the calibrated logits computed
 * apart before anything is published. The manifest keeps the source model's inputs (its soft targets and transfer
 * set, so evaluate still knows its teacher and export its preprocessing) and facts, and adds {@code calibration}.
 */
public final class CalibrateJob {
    private static final Logger LOG = LoggerFactory.getLogger(CalibrateJob.class);
    private final SparkSession spark;

    public CalibrateJob(SparkSession spark) {
        this.spark = spark;
    }

    /** What a run reads, checked: the model, its output layer, the validation split resolved once. */
    record Checked(ModelArtifact model, MultiLayerNetwork net, ResolvedInput validation) {
    }

    static Checked check(Storage storage, CalibrateConfig c) {
        OutputRule.of(storage).input("--model", c.model()).input("--validation", c.validation())
                .check("--out", c.out());
        StagedOutput.check(storage, c.out(), c.mode());
        ModelArtifact model = ModelArtifact.read(storage, c.model());
        MultiLayerNetwork net = model.network();
        Layer last = net.getLayer(net.getnLayers() - 1);
        if (!(last.conf().getLayer() instanceof BaseOutputLayer) || last.getParam("W") == null
                || last.getParam("b") == null) {
            throw new IllegalArgumentException("calibrate folds into a dense output layer (weights W, bias b), but "
                    + model.zipPath() + " ends with " + last.conf().getLayer().getClass().getSimpleName());
        }
        ResolvedInput resolved = TransferTables.resolveTransfer(storage, c.validation());
        Manifest validation = resolved.manifest();
        LogitModel logits = new LogitModel(net);
        long features = (long) validation.number(TransferSchema.FEATURE_COUNT);
        long classes = (long) validation.number(TransferSchema.CLASSES);
        if (logits.inputs() != features || logits.classes() != classes) {
            throw new IllegalArgumentException("model " + model.zipPath() + " maps " + logits.inputs()
                    + " features to " + logits.classes() + " classes, the validation split has " + features + " and "
                    + classes + ": " + c.validation());
        }
        if (model.manifest() != null) {
            TransferTables.requireSameMeaning(validation, c.validation(), model.manifest(), model.path());
        }
        return new Checked(model, net, resolved);
    }

    /** Checks everything a run would, without Spark, and says what the run would do. */
    public static DryRun dryRun(Storage storage, CalibrateConfig c) {
        Checked k = check(storage, c);
        return new DryRun("calibrate")
                .with("model", k.model().zipPath() + " (sha256 " + k.model().sha256() + ")")
                .with("validation", k.validation().path() + " (manifest " + k.validation().manifest().id() + ", "
                        + (long) k.validation().manifest().number("rows") + " rows)")
                .with("method", c.method().id() + " fitted on validation, folded into the output layer")
                .with("out", storage.qualify(c.out()) + " (" + StagedOutput.describe(storage, c.out(), c.mode())
                        + ")");
    }

    public JobResult run(CalibrateConfig c) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        Checked k = check(storage, c);
        LabelledSet validation = LabelledSet.collect(TransferTables.readTransfer(spark, k.validation()));
        float[][] z = Scoring.logits(new LogitModel(k.net()), validation.features());
        int[] y = validation.labels();
        int classes = z[0].length;
        double t = c.method().temperature() ? Calibration.fitTemperature(z, y) : 1.0;
        double[] bias = c.method().bias() ? Calibration.fitBias(Calibration.apply(z, t, null), y, classes)
                : new double[classes];
        MultiLayerNetwork folded = fold(k.net(), t, bias);
        float[][] expected = Calibration.apply(z, t, bias);
        float[][] actual = Scoring.logits(new LogitModel(folded), validation.features());
        // two computations of the same logits, held to the tolerance export holds ONNX against DL4J to
        Verification fold = Verification.compare(expected, actual);
        if (!fold.withinFp32Tolerance()) {
            throw new IllegalStateException("the folded network's logits differ from z / T + bias by "
                    + fold.maxRelDiff() + " (relative to the row's largest |logit|), more than "
                    + Verification.FP32_RELATIVE);
        }
        double eceBefore = Metrics.ece(z, y);
        double eceAfter = Metrics.ece(actual, y);
        double accuracyBefore = Scoring.accuracy(z, y);
        double accuracyAfter = Scoring.accuracy(actual, y);
        Map<String, Object> calibration = new LinkedHashMap<>();
        calibration.put("method", c.method().id());
        calibration.put("temperature", t);
        calibration.put("bias", bias);
        calibration.put("fittedOn", Map.of("path", validation.path(), "manifest", validation.manifestId(),
                "labelledRows", y.length));
        calibration.put("validation", Map.of(
                "nll_before", Calibration.nll(z, y, 1, null), "nll_after", Calibration.nll(actual, y, 1, null),
                "ece_before", eceBefore, "ece_after", eceAfter,
                "accuracy_before", accuracyBefore, "accuracy_after", accuracyAfter));
        calibration.put("foldCheck", Map.of("maxRelativeDiff", fold.maxRelDiff(), "tolerance",
                Verification.FP32_RELATIVE));
        LOG.info("calibrate: {} on {} labelled validation rows: T={}, ECE {} -> {}, accuracy {} -> {}",
                c.method().id(), y.length, String.format("%.4f", t), String.format("%.4f", eceBefore),
                String.format("%.4f", eceAfter), String.format("%.4f", accuracyBefore),
                String.format("%.4f", accuracyAfter));

        Manifest source = k.model().manifest();
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        if (source != null) {
            inputs.putAll(source.inputs());
        }
        inputs.put("model", k.model().asInput());
        inputs.put("validation", new Manifest.Input(validation.path(), validation.manifestId()));
        Map<String, Object> facts = new LinkedHashMap<>();
        if (source != null) {
            facts.putAll(source.facts());
        }
        facts.put("parameters", folded.numParams());
        facts.put("calibration", calibration);
        facts.put("sourceSha256", k.model().sha256());
        try (StagedOutput out = StagedOutput.begin(storage, c.out(), c.mode())) {
            storage.writeBytes(out.path(ModelArtifact.FILE), Models.toBytes(folded, false));
            Manifest manifest = Manifest.sealed("calibrate", c, inputs, facts, Versions.current(),
                    java.time.Instant.now().toString());
            return out.publish(manifest, y.length, start);
        }
    }

    /** A copy of {@code net} whose output layer computes z / t + bias. */
    static MultiLayerNetwork fold(MultiLayerNetwork net, double t, double[] bias) {
        MultiLayerNetwork copy = net.clone();
        Layer last = copy.getLayer(copy.getnLayers() - 1);
        INDArray w = last.getParam("W");
        INDArray b = last.getParam("b");
        w.divi(t);
        b.divi(t);
        for (int c = 0; c < bias.length; c++) {
            b.putScalar(c, b.getDouble(c) + bias[c]);
        }
        return copy;
    }
}
