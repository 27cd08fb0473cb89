package org.distillery.jobs.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.jobs.ingest.IngestConfig.Splits;
import org.distillery.jobs.ingest.IngestJob;
import org.distillery.jobs.ingest.TextConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "ingest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"A table from any Spark source -> Parquet transfer sets OUT/train, OUT/validation, OUT/test (or"
                + " one set at OUT with --split none), each with a manifest recording the class names, the example"
                + " shape and the feature transform. Without --format: Fashion-MNIST's IDX files (the demo).",
            "--format text: a corpus of UTF-8 text files (.gz decompressed) -> text transfer sets of windows of"
                + " --window character tokens (the first --burn-in of every window after a document's first are"
                + " context whose loss is masked), split by document (seeded), with a character vocabulary built on"
                + " the training split only and recorded in the manifests with its SHA-256; characters outside it"
                + " become one unknown id, counted per split (unknownCharacters). Blank documents (empty or white"
                + " space only: two delimiters in a row, a blank line) are skipped and counted (blankDocuments), not"
                + " refused: delimited files produce them routinely and they hold no token to learn. Invalid UTF-8 is"
                + " refused, naming the document (FILE#ENTRY) and the byte offset in the file.",
            "Bad input (a missing column, a wrong type, duplicate ids, an unknown class, null/NaN/infinite features,"
                + " vectors of another length, unreadable or mixed-size images) stops the run with one line naming"
                + " the problem, the value and the row id (exit code 2); nothing is published.",
            "An option written --name= (empty, one token) counts as not given, so a scheduler can always pass it."})
final class IngestCommand implements Callable<Integer> {
    @Option(names = "--source", paramLabel = "PATH|TABLE",
            description = "Path (any Hadoop filesystem; a folder, file or glob) or, with --format table, a catalog"
                    + " table name. For idx, the directory of the IDX files (default: " + IngestConfig.DEFAULT_SOURCE
                    + ", Debian's dataset-fashion-mnist). For text, files, folders or globs separated by commas"
                    + " (default: Debian's fortunes, without its art files, and jargon-text, cut by"
                    + " --documents '*.gz=paragraph' --documents 'delimiter:%%'). Required for the other formats.")
    String source;
    @Option(names = "--format", defaultValue = "idx", paramLabel = "FORMAT",
            description = "parquet, csv, json, orc (Spark's readers), image (Spark's image source: a folder of"
                    + " images), binaryFile (a folder of files, bytes decoded as images), table (a catalog table),"
                    + " text (a corpus of text files, for language models) or idx (Fashion-MNIST's four IDX files;"
                    + " default).")
    String format;
    @Option(names = "--option", paramLabel = "KEY=VALUE", split = ",(?=[A-Za-z0-9_.]+=)",
            description = "A Spark reader option, repeatable or comma-separated, e.g. --option header=true"
                    + " --option inferSchema=true for CSV; recursiveFileLookup=true or pathGlobFilter=*.png for"
                    + " image folders.")
    Map<String, String> options = new LinkedHashMap<>();
    @Option(names = "--id", paramLabel = "COL",
            description = "Row id column: an integer column as it is, a string column hashed to a 64-bit id (Spark"
                    + " SQL xxhash64, seed 42). Ids must be unique and stable across reruns (incremental relabeling"
                    + " compares rows by id). Default: the file path for image/binaryFile, the row index for idx;"
                    + " required otherwise.")
    String id;
    @Option(names = "--id-from", paramLabel = "COL", split = ",",
            description = "Columns whose values together make the id: xxhash64(COL, ...) (Spark SQL, seed 42).")
    List<String> idFrom;
    @Option(names = "--label", paramLabel = "COL",
            description = "Class label column: integer (the class index) or string (the class name). Null ="
                    + " unlabelled. Without it every row is unlabelled (then --classes is required).")
    String label;
    @Option(names = "--classes", paramLabel = "NAME", split = ",",
            description = "Class names in index order. String labels map to their position (a label not listed is"
                    + " refused); integer labels are indices into it. Default: the distinct string labels, sorted;"
                    + " for integer labels 0..max. Recorded in the manifest (classNames) and shown in every report.")
    List<String> classes;
    @Option(names = "--features", paramLabel = "COL", split = ",",
            description = "One array or Spark ML vector column, one column of PNG/JPEG bytes (binary) or Spark"
                    + " image-source rows, or numeric columns c1,c2,... (in this order). Default: 'features' if"
                    + " present; 'image' for --format image; 'content' for --format binaryFile.")
    List<String> features;
    @Option(names = "--features-prefix", paramLabel = "PREFIX",
            description = "Every numeric column whose name starts with PREFIX, in the source's column order.")
    String featuresPrefix;
    @Option(names = "--shape", paramLabel = "CxHxW",
            description = "Images are decoded to C channels (1 grey, 3 RGB) of H x W pixels, channels first; an"
                    + " image of another size is resized (bilinear). Without it every image must have the first"
                    + " one's size.")
    String shape;
    @Option(names = "--scale", paramLabel = "F",
            description = "Multiply every feature value by F, a number or a fraction such as 1/255 (applied as x * 1"
                    + " / 255 in float32). Default: 1; 1/255 for idx.")
    String scale;
    @Option(names = "--standardize", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "After scaling, subtract each feature's mean and divide by its std, both fitted (exactly,"
                    + " independent of partitioning) on the training split only and applied to every split.")
    boolean standardize;
    @Option(names = "--transform-from", paramLabel = "DIR",
            description = "Apply the class names, scale, standardization statistics and image shape recorded by a"
                    + " published transfer set (e.g. the reference split a teacher was trained on) instead of"
                    + " declaring or fitting them.")
    String transformFrom;
    @Option(names = "--documents", paramLabel = "[GLOB=]RULE",
            description = "text: how files are cut into documents, repeatable; a file takes the first rule whose GLOB"
                    + " (over its name) matches, a rule without GLOB matches every file. RULE: line (each line a"
                    + " document; the default), file (each file one), paragraph (blocks separated by blank lines)"
                    + " or delimiter:LINE (entries separated by lines holding exactly LINE, e.g. delimiter:%% for"
                    + " fortune files).")
    List<String> documents;
    @Option(names = "--window", paramLabel = "T",
            description = "text: tokens (characters) per window, >= 2 (default: " + TextConfig.DEFAULT_WINDOW + ").")
    Integer window;
    @Option(names = "--burn-in", paramLabel = "B",
            description = "text: tokens at the start of every window after a document's first that repeat the end of"
                    + " the previous window as context, their loss masked; in [0, T) (default: "
                    + TextConfig.DEFAULT_BURN_IN + ").")
    Integer burnIn;
    @Option(names = "--min-char-count", paramLabel = "N",
            description = "text: characters seen fewer than N times in the training split are left out of the"
                    + " vocabulary and become the unknown id there too, so that a model learns it (default: "
                    + TextConfig.DEFAULT_MIN_CHAR_COUNT + ").")
    Integer minCharCount;
    @Option(names = "--split", paramLabel = "validation=F,test=F|none",
            description = "Per class (and for the unlabelled rows), fractions F of the rows for validation and test,"
                    + " chosen by a seeded hash of the id (stable across reruns); the rest is train. 'none': every"
                    + " row in one transfer set published at OUT itself (e.g. a daily partition). text: per"
                    + " document, default validation=0.05,test=0.05. Default for the other formats except idx:"
                    + " none.")
    String split;
    @Option(names = "--split-column", paramLabel = "COL",
            description = "Column whose value (train, validation or test) says each row's split.")
    String splitColumn;
    @Option(names = "--validation", paramLabel = "N",
            description = "idx only: training images held out for validation, stratified and seeded (default: "
                    + IngestConfig.DEFAULT_IDX_VALIDATION + ").")
    Integer validation;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory.")
    String out;
    @Option(names = "--mode", defaultValue = "fail-if-exists",
            description = "When a split is already published: fail-if-exists (default; one published by this same"
                    + " config is kept) or overwrite (replaced once the new one is complete).")
    String mode;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of the split selection (default: ${DEFAULT-VALUE}).")
    long seed;
    @Mixin
    SparkOptions spark;
    @Mixin
    RunOptions run;

    @Override
    public Integer call() {
        IngestConfig config = config();
        return run.dryRunOrRun(() -> IngestJob.dryRun(Storage.standalone(), config), () -> {
            List<String> summaries = new IngestJob(spark.session("ingest")).run(config).stream()
                    .map(JobResult::summaryJson).toList();
            return summaries.isEmpty() ? null : String.join("\n", summaries); // one line per split
        });
    }

    IngestConfig config() {
        Format f = Format.parse(format);
        if (source == null && f != Format.IDX && f != Format.TEXT) {
            throw new IllegalArgumentException("--source PATH|TABLE is required for --format " + f.id());
        }
        String location = source != null ? source
                : f == Format.TEXT ? TextConfig.DEFAULT_SOURCE : IngestConfig.DEFAULT_SOURCE;
        boolean textOptions = documents != null || window != null || burnIn != null || minCharCount != null;
        TextConfig text = f == Format.TEXT || textOptions ? new TextConfig(
                documents != null ? documents : TextConfig.defaultDocuments(location),
                window != null ? window : TextConfig.DEFAULT_WINDOW,
                burnIn != null ? burnIn : TextConfig.DEFAULT_BURN_IN,
                minCharCount != null ? minCharCount : TextConfig.DEFAULT_MIN_CHAR_COUNT) : null;
        Splits splits = null;
        if (validation != null) {
            splits = Splits.idxRows(validation);
        }
        if (split != null || splitColumn != null) {
            if (splits != null || split != null && splitColumn != null) {
                throw new IllegalArgumentException("give one of --split, --split-column and (idx) --validation");
            }
            splits = split != null ? Splits.parse(split) : Splits.byColumn(splitColumn);
        }
        return IngestConfig.builder().source(location, f).options(options).id(id).idFrom(idFrom).label(label)
                .classes(classes).features(features).featuresPrefix(featuresPrefix).shape(shape).scale(scale)
                .standardize(standardize).transformFrom(transformFrom).text(text).splits(splits).out(out)
                .mode(PublishMode.parse(mode)).seed(seed).build();
    }
}
