package org.distillery.jobs.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.label.ImportConfig;
import org.distillery.jobs.label.ImportJob;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "label", mixinStandardHelpOptions = true,
        description = "Run a frozen teacher over a transfer set; write raw logits (fp32 or fp16, all or the top K)"
                + " and softmax(logits/T) as Parquet. Or, with --import, check and publish a teacher's outputs made"
                + " elsewhere (logits, probabilities, top-k classes or labels) as the same soft-target table.")
final class LabelCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;
    @Option(names = "--transfer", required = true, paramLabel = "DIR",
            description = "Published transfer set, or a partitioned one: a directory of COLUMN=VALUE partitions, each"
                    + " a published transfer set, labelled partition by partition into OUT/COLUMN=VALUE.")
    String transfer;
    @Option(names = "--partition", paramLabel = "COLUMN=VALUE", split = ",",
            description = "With a partitioned transfer set: label only these partitions (repeat or comma-separate);"
                    + " the output's other partitions are left as they are (default: every partition).")
    List<String> partitions;
    @Option(names = "--teacher", paramLabel = "PATH", split = ",",
            description = "Published teacher directory, or a model file: a DL4J zip; a Keras file, Keras 3's .keras"
                    + " archive or an HDF5 file of Keras 2 or 3 (.h5/.hdf5), Sequential or a functional Model that is a"
                    + " single chain of InputLayer, Dense, Conv2D, MaxPooling2D, Flatten, Dropout and"
                    + " BatchNormalization, ending in a Dense; or an ONNX model (.onnx, with its external data files"
                    + " beside it): one float input, [N, D], [N, C, H, W] or [N, H, W, C] (transposed from the transfer"
                    + " set's channels-first rows), batch axis symbolic or fixed, and an output [N, classes] of logits"
                    + " or of a final Softmax. The teacher's input must match the transfer set's example shape. The"
                    + " format is read from the file's content. Repeat (or comma-separate) for an ensemble averaged per"
                    + " --ensemble.")
    List<String> teachers;
    @Option(names = "--teacher-weight", paramLabel = "W", split = ",",
            description = "Weights of the teachers, in --teacher order (default: equal).")
    List<Double> weights;
    @Option(names = "--ensemble", defaultValue = LabelConfig.DEFAULT_ENSEMBLE,
            description = "How several teachers are averaged: prob (softmax(z/T), stored as logits T log p) or logit"
                    + " (default: ${DEFAULT-VALUE}).")
    String ensemble;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (must not exist, unless --mode overwrite).")
    String out;
    @Mixin
    SoftTemperature temperature = new SoftTemperature(LabelConfig.DEFAULT_TEMPERATURE);
    @Option(names = "--batch-size", paramLabel = "N",
            description = "Rows per inference call; with a text transfer set, tokens per call (windows of T tokens,"
                    + " at least one) (default: " + LabelConfig.DEFAULT_BATCH + " rows; "
                    + LabelConfig.DEFAULT_TEXT_BATCH + " tokens with a text transfer set).")
    Integer batchSize;
    @Option(names = "--teacher-sha256", paramLabel = "HEX", split = ",",
            description = "Refuse to run unless the teacher has this SHA-256 (one per --teacher, in order): that of"
                    + " its file, or for an ONNX model with external data, of the sha256sum-style listing of the model"
                    + " and its data files (the label manifest's teacherSha256).")
    List<String> teacherSha256;
    @Option(names = "--teacher-output", paramLabel = "NAME", split = ",",
            description = "The output of an ONNX teacher with several outputs to read (one per --teacher, in order;"
                    + " empty for a teacher that needs none). A model with several outputs is refused without it.")
    List<String> teacherOutputs;
    @Option(names = "--vocabulary-sha256", paramLabel = "HEX",
            description = "With a text transfer set: the SHA-256 of the vocabulary the teacher LM was trained with;"
                    + " the run is refused unless the transfer set's vocabulary has it. A teacher whose manifest records"
                    + " its vocabulary (an LM trained by distillery) is checked against that record anyway; a bare"
                    + " ONNX or DL4J file without this option is checked by vocabulary size only.")
    String vocabularySha256;
    @Option(names = "--precision", paramLabel = "fp32|fp16",
            description = "How logits are stored: fp32 (default) or fp16, IEEE half floats packed little-endian in a"
                    + " binary column (|logit| > 65504 is clamped to 65504).")
    String precision;
    @Option(names = "--top-k", paramLabel = "K",
            description = "Store only the K largest logits (topk_index, topk_logit) and tail_lse, the log-sum-exp of"
                    + " the others, instead of all C; K in [1, C] (default: all classes). Training spreads the tail's"
                    + " mass evenly over the classes left out: exact at T = 1, approximate at other T.")
    Integer topK;
    // arity 0..1 with a fallback value: picocli flips a plain negatable flag whose default (from --config) is true
    @Option(names = "--soft", negatable = true, arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "Store the soft column, softmax(logits/T) (default: on for fp32 without --top-k). Raw"
                    + " logits (all, or the top K) are always stored and enough to re-temper.")
    Boolean soft;
    @Option(names = "--hint-layer", paramLabel = "L",
            description = "Also store the activations of the teacher's layer L (0-based; e.g. its last hidden layer)"
                    + " in a hint column: the target of FitNets hints and relation-based KD in train (default: none)."
                    + " One teacher only.")
    Integer hintLayer;
    @Option(names = "--mode", defaultValue = "fail-if-exists",
            description = "When OUT is already published: fail-if-exists (default), overwrite (the old output stays"
                    + " until the new one is complete) or incremental (as overwrite, but only rows that are new or"
                    + " changed since OUT was labelled, by id and input hash, go through the teacher). With a"
                    + " partitioned transfer set the mode applies to each partition, and incremental keeps a"
                    + " partition whose transfer partition, teacher, T and storage are unchanged without reading it.")
    String mode;
    @Option(names = "--import", paramLabel = "PATH|TABLE",
            description = "Instead of --teacher: a table of a teacher's outputs computed elsewhere, one row per transfer"
                    + " id (every id exactly once), checked and published as soft targets.")
    String importSource;
    @Option(names = "--import-format", paramLabel = "logits|probabilities|topk|label",
            description = "What --import holds per row: logits, probabilities (summing to 1), topk (the K most likely"
                    + " classes, --import-topk-index, and their probabilities; the rest of the mass is spread evenly"
                    + " over the other classes) or label (the teacher's class: trains like pseudo-labels).")
    String importFormat;
    @Option(names = "--import-source-format", defaultValue = "parquet", paramLabel = "FORMAT",
            description = "Spark source format of --import: parquet, csv, json, orc, or table (a catalog table name)"
                    + " (default: ${DEFAULT-VALUE}).")
    String importSourceFormat;
    @Option(names = "--import-option", paramLabel = "KEY=VALUE",
            description = "Spark reader option of --import, e.g. header=true (repeatable).")
    java.util.Map<String, String> importOptions;
    @Option(names = "--import-id", defaultValue = "id", paramLabel = "COL",
            description = "Column of --import holding the transfer row ids (default: ${DEFAULT-VALUE}).")
    String importId;
    @Option(names = "--import-column", split = ",", paramLabel = "COL",
            description = "The values of --import: an array column, or one numeric column per class in class order"
                    + " (default: the format's name; probabilities for topk).")
    List<String> importColumns;
    @Option(names = "--import-topk-index", paramLabel = "COL",
            description = "With --import-format topk: the array column of class indices (default: topk_index).")
    String importTopkIndex;
    @Option(names = "--import-tolerance", defaultValue = "" + ImportConfig.DEFAULT_TOLERANCE, paramLabel = "EPS",
            description = "How far a row's imported probabilities may sum from 1 (default: ${DEFAULT-VALUE}).")
    double importTolerance;
    @Option(names = "--teacher-name", paramLabel = "NAME",
            description = "With --import: the teacher's name in the manifest (default: the last part of --import).")
    String teacherName;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        if (importSource != null) {
            return imported();
        }
        if (teachers == null || teachers.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "Missing required option: '--teacher=PATH' (or --import)");
        }
        LabelConfig config = LabelConfig.builder(transfer, out).teachers(teachers).weights(weights).ensemble(ensemble)
                .temperature(temperature.value).batchSize(batchSize != null ? batchSize
                        : LabelJob.defaultBatchSize(Storage.standalone(), transfer)).teacherSha256s(teacherSha256)
                .mode(PublishMode.parse(mode)).precision(precision).topK(topK).soft(soft).hintLayer(hintLayer)
                .partitions(partitions).teacherOutputs(teacherOutputs).vocabularySha256(vocabularySha256).build();
        return run.dryRunOrRun(() -> LabelJob.dryRun(Storage.standalone(), config), () -> labelled(config));
    }

    /** Runs the label job, saying how far each output written drifted from the one it replaced. */
    private String labelled(LabelConfig config) {
        org.apache.spark.sql.SparkSession session = spark.session("label");
        org.distillery.jobs.common.JobResult result = new LabelJob(session).run(config);
        List<String> written = result.details().get("partitionsLabelled") instanceof List<?> names
                ? names.stream().map(n -> result.path() + "/" + n).toList()
                : result.details().containsKey("kept") ? List.of() : List.of(result.path());
        for (String path : written) {
            Object drift = Storage.of(session).publishedManifest(path).facts().get("drift");
            if (drift instanceof java.util.Map<?, ?> d) {
                System.out.println("drift from the previous output (manifest " + d.get("previousManifest") + "): "
                        + d.get("rowsChanged") + " rows changed, " + d.get("argmaxFlips") + " argmax flips, mean"
                        + " KL(previous || new) " + d.get("meanKlPreviousToNew") + "; details in " + path
                        + "/_drift.json");
            }
        }
        return result.summaryJson();
    }

    private int imported() {
        if (teachers != null && !teachers.isEmpty() || hintLayer != null || topK != null || precision != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--import replaces --teacher and"
                    + " takes no --hint-layer, --top-k or --precision (imported outputs are stored as fp32 logits)");
        }
        ImportConfig config = new ImportConfig(transfer, importSource, importSourceFormat, importOptions, importFormat,
                importId, importColumns, importTopkIndex, importTolerance, teacherName, out, temperature.value,
                PublishMode.parse(mode));
        return run.dryRunOrRun(() -> ImportJob.dryRun(Storage.standalone(), config),
                () -> new ImportJob(spark.session("label")).run(config).summaryJson());
    }
}
