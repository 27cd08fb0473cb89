package org.distillery.jobs.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TextWindows;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.common.Versions;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Documents;
import org.distillery.model.text.Windowing;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code ingest --format text}: a corpus's documents ({@link TextCorpus}) split by document (seeded, the same hash
 * rule as the table splits), a character vocabulary built on the training documents only, every document cut into
 * windows ({@link Windowing}) and published as text transfer sets ({@link TextTransferSchema}), with the same
 * staging, manifests and kept splits as every ingest.
 *
 * <p>Blank documents (empty or white space only: two delimiters in a row, a blank line in {@code line} mode, an empty
 * file) are skipped and counted ({@code blankDocuments} in the manifest), not refused: delimiter files produce them
 * routinely, and a document without characters has no next token to learn.
 */
final class TextIngest {
    private static final Logger LOG = LoggerFactory.getLogger(TextIngest.class);
    /** Manifest fact: documents, characters, unknown characters, windows and scored tokens of every split. */
    static final String SPLIT_TEXT = "splitText";
    private static final List<String> STATS = List.of("documents", "characters", "unknownCharacters", "windows",
            "scoredTokens");

    private final SparkSession spark;

    TextIngest(SparkSession spark) {
        this.spark = spark;
    }

    /** What a dry run can say without Spark: the files, how they are cut, the windows and the split rule. */
    static String describeSource(Storage storage, IngestConfig config) {
        List<TextCorpus.SourceFile> files = TextCorpus.list(storage, config.source().location());
        TextConfig t = config.text();
        TextCorpus.checkRules(files, t.documents());
        return files.size() + " file(s), " + files.stream().mapToLong(TextCorpus.SourceFile::bytes).sum()
                + " bytes (documents " + String.join(" ", t.documents()) + "; windows of " + t.window()
                + " tokens, burn-in " + t.burnIn() + "; vocabulary: characters seen >= " + t.minCharCount()
                + " times in train)";
    }

    List<JobResult> run(Storage storage, IngestConfig config, Map<String, Manifest> kept, long start) {
        TextConfig t = config.text();
        List<TextCorpus.SourceFile> files = TextCorpus.list(storage, config.source().location());
        TextCorpus.checkRules(files, t.documents());
        LOG.info("text ingest: reading {} file(s), {} bytes, documents {}", files.size(),
                files.stream().mapToLong(TextCorpus.SourceFile::bytes).sum(), t.documents());
        Dataset<Row> all = TextCorpus.read(spark, files, t.documents()).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            Map<String, Object> fileFacts = new TreeMap<>();
            for (Row r : all.where(col("entry").equalTo(0)).select("path", "sha256", "bytes").collectAsList()) {
                fileFacts.put(r.getString(0), Map.of("sha256", r.getString(1), "bytes", r.getLong(2)));
            }
            long blank = all.where(col("blank")).count();
            Dataset<Row> docs = all.where(col("entry").gt(0).and(col("blank").equalTo(false)))
                    .select(col("key"), col("text"), xxhash64(col("key")).as("doc"));
            long n = checkIds(docs);
            LOG.info("text ingest: {} documents, {} blank entries skipped", n, blank);
            if (n == 0) {
                throw new IllegalArgumentException("the source has no documents: every entry of its " + files.size()
                        + " file(s) is blank (documents " + String.join(" ", t.documents()) + ")");
            }
            DocumentSplit split = DocumentSplit.of(docs, config, n);
            Dataset<Row> assigned = docs.withColumn("split", split.column());
            CharVocabulary vocabulary = vocabulary(assigned, t, split);
            Map<String, Map<String, Long>> stats = stats(assigned, vocabulary, t.window(), t.burnIn());
            stats.forEach((name, s) -> LOG.info("text ingest: {}: {}", name, s));
            Map<String, Long> rows = new LinkedHashMap<>();
            stats.forEach((name, s) -> rows.put(name, s.get("windows")));
            Map<String, Object> source = Manifest.facts("format", "text",
                    "location", String.join(",", TextCorpus.splitOutsideBraces(config.source().location()).stream()
                            .map(storage::qualify).toList()),
                    "documents", t.documents(), "files", fileFacts, "blankDocuments", blank);
            Map<String, Object> common = Manifest.facts(
                    TextTransferSchema.SCHEMA_VERSION, TextTransferSchema.VERSION,
                    TextTransferSchema.WINDOW_LENGTH, t.window(),
                    TextTransferSchema.BURN_IN, t.burnIn(),
                    TextTransferSchema.VOCABULARY, vocabulary.codePoints(),
                    TextTransferSchema.VOCABULARY_SIZE, vocabulary.size(),
                    TextTransferSchema.VOCABULARY_SHA256, vocabulary.sha256(),
                    "source", source,
                    "blankDocuments", blank,
                    "ids", "document: xxhash64(document_key), window: xxhash64(document_key, window) (Spark SQL,"
                            + " seed 42); document_key: FILE#ENTRY",
                    "splitRule", split.rule(),
                    SPLIT_TEXT, stats,
                    IngestJob.SPLIT_ROWS, rows);
            return publish(storage, config, assigned, vocabulary, common, stats, kept, start);
        } finally {
            all.unpersist(false);
        }
    }

    /** Document ids are 64-bit hashes of their keys: refuses the (unlikely) collision. Returns the document count. */
    private static long checkIds(Dataset<Row> docs) {
        List<Row> dup = docs.groupBy("doc").agg(count(lit(1)).as("n"), min("key"), max("key"))
                .where(col("n").gt(1)).limit(1).collectAsList();
        if (!dup.isEmpty()) {
            throw new IllegalArgumentException("documents " + dup.get(0).getString(2) + " and "
                    + dup.get(0).getString(3) + " hash to the same 64-bit id; rename one of the files");
        }
        return docs.count();
    }

    /** The vocabulary of the training documents' characters seen at least {@code --min-char-count} times. */
    private static CharVocabulary vocabulary(Dataset<Row> assigned, TextConfig t, DocumentSplit split) {
        JavaRDD<String> train = assigned.where(col("split").equalTo("train")).select("text").as(
                org.apache.spark.sql.Encoders.STRING()).javaRDD();
        Map<Integer, Long> counts = train.mapPartitions(it -> {
            Map<Integer, Long> c = new TreeMap<>();
            it.forEachRemaining(text -> text.codePoints().forEach(cp -> c.merge(cp, 1L, Long::sum)));
            return List.of(c).iterator();
        }).fold(new TreeMap<>(), (a, b) -> {
            Map<Integer, Long> m = new TreeMap<>(a);
            b.forEach((k, v) -> m.merge(k, v, Long::sum));
            return m;
        });
        if (counts.isEmpty()) {
            throw new IllegalArgumentException("the training split has no documents (" + split.describe()
                    + "): there is nothing to build the vocabulary on; use more documents or smaller --split"
                    + " fractions");
        }
        CharVocabulary v = CharVocabulary.fromCounts(counts, t.minCharCount());
        LOG.info("text ingest: vocabulary of {} ids ({} distinct characters in train, {} seen >= {} times), sha256 {}",
                v.size(), counts.size(), v.size() - CharVocabulary.RESERVED, t.minCharCount(), v.sha256());
        return v;
    }

    /** Per split: documents, characters, unknown characters, windows and scored tokens. */
    private static Map<String, Map<String, Long>> stats(Dataset<Row> assigned, CharVocabulary vocabulary,
                                                        int length, int burnIn) {
        Map<String, long[]> sums = assigned.select("split", "key", "text").javaRDD().mapPartitions(it -> {
            Windowing windowing = new Windowing(length, burnIn);
            Map<String, long[]> s = new TreeMap<>();
            while (it.hasNext()) {
                Row r = it.next();
                int[] stream = Documents.stream(vocabulary, r.getString(1), r.getString(2));
                long[] a = s.computeIfAbsent(r.getString(0), k -> new long[STATS.size()]);
                a[0]++;
                a[1] += stream.length - 2;
                a[2] += CharVocabulary.unknown(stream);
                a[3] += windowing.windows(stream.length - 1);
                a[4] += stream.length - 1;
            }
            return List.of(s).iterator();
        }).fold(new TreeMap<>(), (a, b) -> {
            Map<String, long[]> m = new TreeMap<>();
            for (Map<String, long[]> x : List.of(a, b)) {
                x.forEach((k, v) -> {
                    long[] acc = m.computeIfAbsent(k, y -> new long[STATS.size()]);
                    for (int i = 0; i < acc.length; i++) {
                        acc[i] += v[i];
                    }
                });
            }
            return m;
        });
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        for (String name : IngestConfig.SPLITS) {
            long[] a = sums.getOrDefault(name, new long[STATS.size()]);
            Map<String, Long> s = new LinkedHashMap<>();
            for (int i = 0; i < STATS.size(); i++) {
                s.put(STATS.get(i), a[i]);
            }
            out.put(name, s);
        }
        return out;
    }

    /** The windows of one split's documents, in the table's column order. */
    private Dataset<Row> windows(Dataset<Row> assigned, String split, CharVocabulary vocabulary, int length,
                                 int burnIn) {
        JavaRDD<Row> rows = assigned.where(col("split").equalTo(split)).select("key", "text").javaRDD()
                .flatMap(r -> {
                    Windowing windowing = new Windowing(length, burnIn);
                    String key = r.getString(0);
                    List<Row> out = new ArrayList<>();
                    for (Windowing.Window w : windowing.cut(Documents.stream(vocabulary, key, r.getString(1)))) {
                        out.add(TextWindows.keyed(key, w));
                    }
                    return out.iterator();
                });
        return TextWindows.table(spark, rows);
    }

    private List<JobResult> publish(Storage storage, IngestConfig config, Dataset<Row> assigned,
                                    CharVocabulary vocabulary, Map<String, Object> common,
                                    Map<String, Map<String, Long>> stats, Map<String, Manifest> kept, long start) {
        TextConfig t = config.text();
        List<JobResult> results = new ArrayList<>();
        for (String name : config.splits().names()) {
            long expected = stats.get(name).get("windows");
            if (kept.containsKey(name)) {
                results.addAll(IngestJob.keptResults(storage, config, Map.of(name, kept.get(name))));
                continue;
            }
            if (expected == 0) {
                LOG.warn("{}: no documents, not published", name);
                continue;
            }
            try (StagedOutput out = StagedOutput.begin(storage, config.target(name), config.mode())) {
                TransferTables.write(windows(assigned, name, vocabulary, t.window(), t.burnIn()), out.stagingDir());
                long written = TransferTables.countRows(spark, out.stagingDir());
                if (written != expected) {
                    throw new IllegalStateException("internal error: wrote " + written + " " + name + " windows,"
                            + " expected " + expected);
                }
                Map<String, Object> facts = new LinkedHashMap<>(common);
                facts.put("split", name);
                facts.put("rows", written);
                facts.putAll(stats.get(name));
                Manifest manifest = Manifest.sealed("ingest", config, Map.of("source", new Manifest.Input(
                        (String) ((Map<?, ?>) common.get("source")).get("location"), null)), facts,
                        Versions.current(), java.time.Instant.now().toString());
                results.add(out.publish(manifest, written, start));
            }
        }
        return results;
    }

    /**
     * The split of each document, as the table splits assign rows: the round(F x documents) documents with the
     * smallest {@code xxhash64(seed, document id)} go to test, the next to validation, the rest to train; the same
     * documents on every rerun, whatever the partitioning.
     */
    record DocumentSplit(Column column, long test, long validation, long documents, String rule) {
        static DocumentSplit of(Dataset<Row> docs, IngestConfig config, long n) {
            IngestConfig.Splits s = config.splits();
            if (s.none()) {
                return new DocumentSplit(lit("train"), 0, 0, n, "none: one transfer set");
            }
            long toTest = Math.round(s.test() * n);
            long toValidation = Math.round((s.test() + s.validation()) * n) - toTest;
            Column h = xxhash64(lit(config.seed()), col("doc"));
            Column split = lit("train");
            if (toTest + toValidation > 0) {
                List<Row> smallest = docs.select(h.as("h")).orderBy("h").limit((int) (toTest + toValidation))
                        .collectAsList();
                long validationBelow = smallest.get(smallest.size() - 1).getLong(0);
                split = toValidation > 0 ? when(h.leq(lit(validationBelow)), lit("validation")).otherwise(split)
                        : split;
                if (toTest > 0) {
                    long testBelow = smallest.get((int) toTest - 1).getLong(0);
                    split = when(h.leq(lit(testBelow)), lit("test")).otherwise(split);
                }
            }
            return new DocumentSplit(split, toTest, toValidation, n, "by document: the round(F x documents)"
                    + " documents with the smallest xxhash64(" + config.seed() + ", document) go to test (F = "
                    + s.test() + "), the next to validation (F = " + s.validation() + "), the rest to train");
        }

        String describe() {
            return documents + " document(s): " + test + " test, " + validation + " validation, "
                    + (documents - test - validation) + " train";
        }
    }
}
