package org.distillery.jobs.ingest;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.xxhash64;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TextTransferSchema;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Documents;
import org.distillery.model.text.Windowing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ingest --format text} on a small seeded corpus in the demo corpus's layouts: every document found once and
 * in one split, the split the seeded hash rule gives, the vocabulary built on the training documents only, unknown
 * characters counted, windows exactly as {@link Windowing} cuts the documents, and reruns that keep or reproduce.
 */
class TextIngestTest extends SparkTestBase {
    @TempDir
    Path dir;

    private IngestConfig config(String out) {
        return IngestConfig.builder().source(dir.resolve("corpus").toString(), IngestConfig.Format.TEXT)
                .text(new TextConfig(TextFixtures.rules(), 16, 4, 2))
                .splits(IngestConfig.Splits.fractions(0.2, 0.2)).out(out).seed(7).build();
    }

    @Test
    void publishesWindowsOfEveryDocumentSplitByDocumentWithATrainingVocabulary() throws Exception {
        List<TextFixtures.Doc> docs = TextFixtures.write(dir.resolve("corpus"), 40, 30, 11);
        Map<String, String> text = docs.stream().collect(Collectors.toMap(TextFixtures::key, TextFixtures.Doc::text));
        String out = dir.resolve("text").toString();
        List<JobResult> results = new IngestJob(spark()).run(config(out));
        assertThat(results).hasSize(3);

        Map<String, String> splitOf = new HashMap<>();
        Map<String, List<Row>> rows = new TreeMap<>();
        for (String split : IngestConfig.SPLITS) {
            List<Row> r = TransferTables.readPublished(spark(), out + "/" + split).collectAsList();
            rows.put(split, r);
            r.forEach(w -> assertThat(splitOf.put(w.getString(2), split)).isIn(null, split));
        }
        // every document in exactly one split; 70 documents: round(0.2 x 70) = 14 each for test and validation
        assertThat(splitOf.keySet()).containsExactlyInAnyOrderElementsOf(text.keySet());
        Map<String, Long> perSplit = splitOf.values().stream().collect(Collectors.groupingBy(s -> s,
                Collectors.counting()));
        assertThat(perSplit).containsEntry("test", 14L).containsEntry("validation", 14L).containsEntry("train", 42L);
        // the seeded hash rule: test holds the 14 documents with the smallest xxhash64(seed, xxhash64(key))
        List<String> byHash = spark().createDataset(new ArrayList<>(text.keySet()), Encoders.STRING())
                .select(col("value"), xxhash64(lit(7L), xxhash64(col("value"))).as("h")).orderBy("h")
                .select("value").as(Encoders.STRING()).collectAsList();
        assertThat(byHash.subList(0, 14)).allMatch(k -> splitOf.get(k).equals("test"));
        assertThat(byHash.subList(14, 28)).allMatch(k -> splitOf.get(k).equals("validation"));

        // the vocabulary: characters seen at least twice in the training documents, nothing from the others
        Map<Integer, Long> trainCounts = new TreeMap<>();
        splitOf.forEach((k, s) -> {
            if (s.equals("train")) {
                CharVocabulary.count(text.get(k)).forEach((cp, n) -> trainCounts.merge(cp, n, Long::sum));
            }
        });
        CharVocabulary expected = CharVocabulary.fromCounts(trainCounts, 2);
        Manifest train = Storage.of(spark()).publishedManifest(out + "/train");
        Manifest test = Storage.of(spark()).publishedManifest(out + "/test");
        assertThat(TextTransferSchema.vocabulary(train)).isEqualTo(expected);
        assertThat(TextTransferSchema.vocabulary(test)).isEqualTo(expected);
        assertThat(train.text(TextTransferSchema.VOCABULARY_SHA256)).isEqualTo(expected.sha256());
        assertThat(expected.id('\u00e9')).isEqualTo(CharVocabulary.UNKNOWN); // seen once at most
        for (String split : IngestConfig.SPLITS) {
            Manifest m = Storage.of(spark()).publishedManifest(out + "/" + split);
            long unknown = 0;
            long chars = 0;
            for (Map.Entry<String, String> d : text.entrySet()) {
                if (splitOf.get(d.getKey()).equals(split)) {
                    unknown += CharVocabulary.unknown(expected.encode(d.getValue()));
                    chars += d.getValue().codePointCount(0, d.getValue().length());
                }
            }
            assertThat(m.number("unknownCharacters")).as(split).isEqualTo((double) unknown);
            assertThat(m.number("characters")).as(split).isEqualTo((double) chars);
            assertThat(m.number("rows")).isEqualTo((double) rows.get(split).size());
            assertThat(TextTransferSchema.windowing(m)).isEqualTo(new Windowing(16, 4));
        }
        assertThat(train.number("unknownCharacters") + test.number("unknownCharacters")
                + Storage.of(spark()).publishedManifest(out + "/validation").number("unknownCharacters"))
                .isEqualTo(2); // 'é' and 'ß', each seen once in the whole corpus

        // the windows: exactly Windowing's cut of each document's token stream, ids unique
        Windowing windowing = new Windowing(16, 4);
        List<Row> all = rows.values().stream().flatMap(List::stream).toList();
        assertThat(all.stream().map(r -> r.getLong(0)).distinct().count()).isEqualTo(all.size());
        Map<String, List<Row>> byDoc = all.stream().collect(Collectors.groupingBy(r -> r.getString(2)));
        byDoc.forEach((key, windows) -> {
            List<Windowing.Window> cut = windowing.cut(Documents.stream(expected, key, text.get(key)));
            windows.sort(Comparator.comparingInt(r -> r.getInt(3)));
            assertThat(windows).hasSize(cut.size());
            for (int k = 0; k < cut.size(); k++) {
                Row r = windows.get(k);
                int[] tokens = r.getList(5).stream().mapToInt(x -> (Integer) x).toArray();
                Windowing.Window w = TextTransferSchema.window(r.getInt(3), r.getInt(4), tokens, r.getInt(6),
                        r.getInt(7));
                assertThat(w.inputs()).isEqualTo(cut.get(k).inputs());
                assertThat(w.targets()).isEqualTo(cut.get(k).targets());
                assertThat(w.mask()).isEqualTo(cut.get(k).mask());
                assertThat(w.start()).isEqualTo(cut.get(k).start());
            }
            assertThat(windows).extracting(r -> r.getLong(1)).containsOnly(windows.get(0).getLong(1));
        });
        assertThat(TransferTables.readPublished(spark(), out + "/train").columns())
                .containsExactlyElementsOf(TextTransferSchema.COLUMNS);
    }

    @Test
    void aRerunKeepsWhatItPublishedAndAnotherOutputGetsTheSameRows() throws Exception {
        TextFixtures.write(dir.resolve("corpus"), 20, 10, 3);
        String out = dir.resolve("text").toString();
        List<JobResult> first = new IngestJob(spark()).run(config(out));
        List<JobResult> again = new IngestJob(spark()).run(config(out));
        assertThat(again).extracting(JobResult::manifestId)
                .containsExactlyElementsOf(first.stream().map(JobResult::manifestId).toList());
        assertThat(again).extracting(JobResult::seconds).containsOnly(0.0);

        String other = dir.resolve("other").toString();
        new IngestJob(spark()).run(config(other));
        for (String split : IngestConfig.SPLITS) {
            Row a = TransferTables.contentSummary(TransferTables.readPublished(spark(), out + "/" + split));
            Row b = TransferTables.contentSummary(TransferTables.readPublished(spark(), other + "/" + split));
            assertThat(b).as(split).isEqualTo(a);
            Manifest ma = Storage.of(spark()).publishedManifest(out + "/" + split);
            Manifest mb = Storage.of(spark()).publishedManifest(other + "/" + split);
            assertThat(mb.facts()).isEqualTo(ma.facts());
        }
    }
}
