package org.distillery.jobs.ingest;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.distillery.jobs.common.DryRun;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.OutputRule;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A source table (any Spark source, a catalog table, or Fashion-MNIST's IDX files) to published transfer sets:
 * {@code OUT/train}, {@code OUT/validation} and {@code OUT/test}, or one set at {@code OUT}. One pass reads, converts,
 * checks and transforms every row and writes all splits; before it, a keys pass checks the ids and maps the labels
 * ({@link IngestPlan}). Any bad row fails the run with one line naming the problem, the value and the row id, and
 * nothing is published. Each split's manifest records the class names, the example shape and the transform.
 * {@code --format text} shares the output checks, kept splits and publication, and runs {@link TextIngest}.
 */
public final class IngestJob {
    private static final Logger LOG = LoggerFactory.getLogger(IngestJob.class);
    /** Manifest fact: rows per split of the whole ingest (0 where a split got none and was not published). */
    static final String SPLIT_ROWS = "splitRows";
    private final SparkSession spark;

    public IngestJob(SparkSession spark) {
        this.spark = spark;
    }

    /** Checks the config, the outputs and what can be checked of the source without Spark, and says what a run does. */
    public static DryRun dryRun(Storage storage, IngestConfig config) {
        outputRule(storage, config);
        DryRun plan = new DryRun("ingest");
        Map<String, Manifest> kept = kept(storage, config);
        Format format = config.source().format();
        if (format == Format.TEXT) {
            plan.with("source", TextIngest.describeSource(storage, config));
        } else if (format == Format.IDX) {
            IdxSource.Loaded train = IdxSource.load(config.source().location(), IdxSource.TRAIN);
            IdxSource.checkValidation(train, config.splits().validationRows());
            IdxSource.Loaded test = IdxSource.load(config.source().location(), IdxSource.TEST);
            plan.with("source", config.source().location() + " (" + train.labels().length + " train, "
                    + test.labels().length + " test images of " + train.pixels() + " pixels)");
        } else if (format == Format.TABLE) {
            plan.with("source", "catalog table " + config.source().location() + " (read when the job runs)");
        } else {
            if (!storage.exists(config.source().location()) && !config.source().location().matches(".*[*?\\[{].*")) {
                throw new IllegalArgumentException("source not found: " + config.source().location());
            }
            plan.with("source", storage.qualify(config.source().location()) + " (" + format.id() + " source"
                    + (config.source().options().isEmpty() ? "" : ", options " + config.source().options()) + ")");
        }
        Manifest reference = IngestPlan.reference(storage, config);
        if (reference != null) {
            plan.with("transform", "from " + storage.qualify(config.preprocessing().transformFrom()) + " (manifest "
                    + reference.id() + ")");
        }
        for (String name : config.splits().names()) {
            String target = config.target(name);
            plan.with(name, storage.qualify(target) + " (" + (kept.containsKey(name)
                    ? "already published by this config: kept" : StagedOutput.describe(storage, target, config.mode()))
                    + ")");
        }
        return plan;
    }

    /** No split may be written where an input lives (the source files, the set the transform is read from). */
    private static void outputRule(Storage storage, IngestConfig config) {
        OutputRule rule = OutputRule.of(storage).input("--transform-from", config.preprocessing().transformFrom());
        if (config.source().format() == Format.TEXT) {
            TextCorpus.list(storage, config.source().location()); // refuses a source that matches nothing, first
            rule.inputs("--source", TextCorpus.roots(storage, config.source().location()));
        } else if (config.source().format() != Format.TABLE) {
            rule.input("--source", config.source().location());
        }
        rule.check("--out", config.out());
    }

    /**
     * The splits already published by this very config (an earlier run, perhaps interrupted before the last split),
     * which fail-if-exists keeps; a split published by another config is refused before any work starts.
     */
    private static Map<String, Manifest> kept(Storage storage, IngestConfig config) {
        Map<String, Manifest> kept = new LinkedHashMap<>();
        for (String name : config.splits().names()) {
            String target = config.target(name);
            if (config.mode() == PublishMode.FAIL_IF_EXISTS && storage.exists(target + "/" + Manifest.SUCCESS)
                    && storage.publishedManifest(target).madeBy(config)) {
                kept.put(name, storage.publishedManifest(target));
            } else {
                StagedOutput.check(storage, target, config.mode());
            }
        }
        return kept;
    }

    /** Whether the kept splits are all the run would publish (every split with rows, as their manifests record). */
    private static boolean complete(Map<String, Manifest> kept) {
        if (kept.isEmpty()) {
            return false;
        }
        Object rows = kept.values().iterator().next().facts().get(SPLIT_ROWS);
        return rows instanceof Map<?, ?> m && m.entrySet().stream()
                .allMatch(e -> ((Number) e.getValue()).longValue() == 0 || kept.containsKey((String) e.getKey()));
    }

    /**
     * Publishes the splits, in the order train, validation, test; a split with no rows is not published. A split
     * already published by this same config is kept and reported with 0 seconds.
     */
    public List<JobResult> run(IngestConfig config) {
        long start = System.nanoTime();
        Storage storage = Storage.of(spark);
        outputRule(storage, config);
        Map<String, Manifest> kept = kept(storage, config);
        if (complete(kept)) {
            return keptResults(storage, config, kept);
        }
        if (config.source().format() == Format.TEXT) {
            return new TextIngest(spark).run(storage, config, kept, start);
        }
        try (IngestPlan plan = IngestPlan.make(spark, storage, config)) {
            String tmp = besideOut(storage, config.out());
            List<JobResult> results;
            try {
                results = publish(storage, plan, write(storage, plan, tmp), kept, start);
            } catch (RuntimeException e) {
                StagedOutput.deleteAfterTasks(storage, tmp); // a failed job's other tasks may still be writing there
                throw e;
            }
            if (storage.exists(tmp)) {
                storage.delete(tmp);
            }
            return results;
        }
    }

    static List<JobResult> keptResults(Storage storage, IngestConfig config, Map<String, Manifest> kept) {
        List<JobResult> results = new ArrayList<>();
        kept.forEach((name, m) -> {
            LOG.info("{}: already published by this config (manifest {}), kept", name, m.id());
            results.add(new JobResult("ingest", storage.qualify(config.target(name)), m.id(), (long) m.number("rows"),
                    0));
        });
        return results;
    }

    /** A hidden directory beside OUT for the pass's files until each split is moved into its staging directory. */
    private static String besideOut(Storage storage, String out) {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(storage.qualify(out));
        return new org.apache.hadoop.fs.Path(p.getParent(), "." + p.getName() + ".ingest-" + UUID.randomUUID())
                .toString();
    }

    /**
     * The one pass over the source: every row converted, checked and transformed, written under {@code tmp} in one
     * directory per split ({@code split=train}, ...), or into {@code tmp} itself for one set. Returns the directory
     * holding each split's files.
     */
    private Map<String, String> write(Storage storage, IngestPlan plan, String tmp) {
        Dataset<Row> rows = plan.rows();
        Map<String, String> dirs = new LinkedHashMap<>();
        // Spark writes one file per task and split as rows come (no sort of the rows by split first)
        Map<String, String> conf = Map.of("spark.sql.optimizer.plannedWrite.enabled", "false",
                "spark.sql.maxConcurrentOutputFileWriters", "3",
                "spark.sql.sources.partitionOverwriteMode", "static");
        Map<String, String> before = new LinkedHashMap<>();
        conf.forEach((k, v) -> {
            before.put(k, spark.conf().contains(k) ? spark.conf().get(k) : null);
            spark.conf().set(k, v);
        });
        spark.sparkContext().hadoopConfiguration().set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false");
        try {
            if (plan.config.splits().none()) {
                rows.drop("split").write().mode("errorifexists").parquet(tmp);
                dirs.put("train", tmp);
            } else {
                rows.write().mode("errorifexists").partitionBy("split").parquet(tmp);
                for (String name : IngestConfig.SPLITS) {
                    if (storage.exists(tmp + "/split=" + name)) {
                        dirs.put(name, tmp + "/split=" + name);
                    }
                }
            }
        } catch (Exception e) {
            throw explain(e, plan.table.where());
        } finally {
            before.forEach((k, v) -> {
                if (v == null) {
                    spark.conf().unset(k);
                } else {
                    spark.conf().set(k, v);
                }
            });
        }
        return dirs;
    }

    private List<JobResult> publish(Storage storage, IngestPlan plan, Map<String, String> written,
                                    Map<String, Manifest> kept, long start) {
        IngestConfig config = plan.config;
        Map<String, Long> counts = new LinkedHashMap<>();
        for (String name : config.splits().names()) {
            long n = written.containsKey(name) ? TransferTables.countRows(spark, written.get(name)) : 0;
            long expected = plan.expectedRows.getOrDefault(name, 0L);
            if (n != expected) {
                throw new IllegalStateException("internal error: wrote " + n + " " + name + " rows, expected "
                        + expected);
            }
            counts.put(name, n);
        }
        List<JobResult> results = new ArrayList<>();
        for (String name : config.splits().names()) {
            if (kept.containsKey(name)) {
                results.addAll(keptResults(storage, config, Map.of(name, kept.get(name))));
                continue;
            }
            if (counts.get(name) == 0) {
                LOG.warn("{}: no rows, not published", name);
                continue;
            }
            try (StagedOutput out = StagedOutput.begin(storage, config.target(name), config.mode())) {
                storage.mkdirs(new org.apache.hadoop.fs.Path(out.stagingDir()).getParent().toString());
                storage.rename(written.get(name), out.stagingDir());
                Manifest manifest = Manifest.sealed("ingest", config, inputs(storage, plan),
                        facts(plan, name, counts), Versions.current(), java.time.Instant.now().toString());
                results.add(out.publish(manifest, counts.get(name), start));
            }
        }
        written.values().stream().filter(storage::exists).forEach(storage::delete);
        return results;
    }

    private static Map<String, Manifest.Input> inputs(Storage storage, IngestPlan plan) {
        Map<String, Manifest.Input> inputs = new LinkedHashMap<>();
        inputs.put("source", new Manifest.Input((String) plan.sourceFacts.get("location"), null));
        if (plan.reference != null) {
            inputs.put("transformFrom", new Manifest.Input(
                    storage.qualify(plan.config.preprocessing().transformFrom()), plan.reference.id()));
        }
        return inputs;
    }

    private static Map<String, Object> facts(IngestPlan plan, String split, Map<String, Long> counts) {
        Map<String, Object> f = Manifest.facts("split", split, "rows", counts.get(split),
                TransferSchema.SCHEMA_VERSION, TransferSchema.VERSION,
                TransferSchema.FEATURE_COUNT, plan.features.count(),
                TransferSchema.SHAPE, plan.features.shape(),
                TransferSchema.CLASSES, plan.classes.classes(),
                TransferSchema.CLASS_NAMES, plan.classes.names(),
                TransferSchema.PREPROCESSING, plan.transform.facts(),
                "source", plan.sourceFacts,
                "ids", plan.ids.rule(),
                "labels", plan.classes.rule(),
                "features", plan.features.describe(),
                "splitRule", plan.splitRule,
                SPLIT_ROWS, counts);
        return f;
    }

    /**
     * Marks the message of a row's problem raised inside Spark by {@code raise_error} (Spark 3.5 throws it as a plain
     * RuntimeException, Spark 4 with an error class), so that {@link #explain} can tell it from other failures.
     */
    static final String ROW_ERROR = "distillery input error: ";

    /**
     * The input error a failed Spark job carries (a row's problem raised by {@code raise_error}, or an
     * IllegalArgumentException from a decoder), else {@link TransferTables#explain}.
     */
    static RuntimeException explain(Exception e, String input) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String msg = c.getMessage();
            int at = msg == null ? -1 : msg.indexOf(ROW_ERROR);
            if (at >= 0) {
                String line = msg.substring(at + ROW_ERROR.length()).lines().findFirst().orElse("");
                return new IllegalArgumentException(line.replaceFirst(" SQLSTATE: \\w+$", ""), e);
            }
        }
        return TransferTables.explain(e, input);
    }
}
