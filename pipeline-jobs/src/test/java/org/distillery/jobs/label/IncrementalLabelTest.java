package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.InputHash;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --mode incremental: only new or changed rows go through the teacher; the rest keep their stored logits. */
class IncrementalLabelTest extends SparkTestBase {
    @TempDir
    Path dir;

    private static List<Row> rows(int n, long seed, long firstId) {
        int[] y = Fixtures.labels(n, seed);
        float[][] x = Fixtures.features(n, y, seed + 1);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create(firstId + i, x[i], y[i]));
        }
        return rows;
    }

    private Map<Long, float[]> column(String out, String name) {
        Map<Long, float[]> m = new HashMap<>();
        for (Row r : spark().read().parquet(out).select("id", name).collectAsList()) {
            m.put(r.getLong(0), TransferTables.floats(r, 1));
        }
        return m;
    }

    /** Rows as a reader sees them going through the part files in name order. */
    private List<Row> inFileOrder(String out) {
        List<Row> rows = new ArrayList<>();
        try (var files = java.nio.file.Files.list(Path.of(out))) {
            for (Path p : files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList()) {
                rows.addAll(spark().read().parquet(p.toString()).collectAsList());
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return rows;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> incremental(String out) {
        Object facts = Storage.of(spark()).publishedManifest(out).facts().get("incremental");
        return facts instanceof Map ? (Map<String, Object>) facts : Map.of();
    }

    private String label(String transfer, String teacher, String out, double t) {
        return new LabelJob(spark()).run(LabelConfig.builder(transfer, out).teachers(List.of(teacher)).temperature(t)
                .batchSize(64).mode(PublishMode.INCREMENTAL).build()).path();
    }

    @Test
    void relabelsOnlyNewAndChangedRows() throws Exception {
        List<Row> first = rows(300, 1, 0);
        String v1 = Fixtures.publishTransfer(spark(), dir.resolve("v1").toString(), first, Fixtures.FEATURES);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(2, 30), dir.resolve("t.zip").toString());
        String out = dir.resolve("soft").toString();
        label(v1, teacher, out, 2.0); // nothing to reuse yet: a full run
        assertThat(incremental(out)).containsEntry("relabelledRows", 300).containsKey("fullRelabel");
        Map<Long, float[]> before = column(out, "logits");

        // the day's data corrected: rows 0-9 changed, 290-299 removed, 1000-1019 new
        List<Row> second = new ArrayList<>();
        List<Row> changed = rows(10, 99, 0);
        for (Row r : first) {
            long id = r.getLong(0);
            if (id < 10) {
                second.add(changed.get((int) id));
            } else if (id < 290) {
                second.add(r);
            }
        }
        second.addAll(rows(20, 3, 1000));
        String v2 = Fixtures.publishTransfer(spark(), dir.resolve("v2").toString(), second, Fixtures.FEATURES);
        label(v2, teacher, out, 2.0);
        assertThat(incremental(out)).containsEntry("reusedRows", 280).containsEntry("relabelledRows", 30);
        Map<Long, float[]> after = column(out, "logits");
        assertThat(after).hasSize(310).doesNotContainKeys(290L, 299L).containsKeys(1000L, 1019L);
        for (long id = 10; id < 290; id++) {
            assertThat(after.get(id)).isEqualTo(before.get(id)); // reused as stored
        }
        // relabelled rows carry the teacher's logits, as a full run over v2 gives them
        String full = new LabelJob(spark()).run(LabelConfig.builder(v2, dir.resolve("full").toString()).teacher(teacher)
                .temperature(2.0).batchSize(64).build())
                .path();
        Map<Long, float[]> reference = column(full, "logits");
        for (long id : List.of(0L, 9L, 1000L, 1019L)) {
            float[] a = after.get(id);
            for (int c = 0; c < a.length; c++) {
                assertThat((double) a[c]).isCloseTo(reference.get(id)[c], within(1e-5));
            }
        }
        assertThat(after.get(0L)).isNotEqualTo(before.get(0L));

        // the same command again: the output is kept as it is, nothing read or rewritten
        List<Row> written = inFileOrder(out);
        Manifest published = Storage.of(spark()).publishedManifest(out);
        long modified = java.nio.file.Files.getLastModifiedTime(Path.of(out, Manifest.SUCCESS)).toMillis();
        JobResult again = new LabelJob(spark()).run(LabelConfig.builder(v2, out).teachers(List.of(teacher))
                .temperature(2.0).batchSize(64).mode(PublishMode.INCREMENTAL).build());
        assertThat(again.details()).containsEntry("kept", "unchanged since manifest " + published.id()
                + " (same transfer set, teacher, T and storage)");
        assertThat(again.manifestId()).isEqualTo(published.id());
        assertThat(again.rows()).isEqualTo(310);
        assertThat(java.nio.file.Files.getLastModifiedTime(Path.of(out, Manifest.SUCCESS)).toMillis())
                .isEqualTo(modified);
        // the same rows published again (another transfer manifest): every row reused, the same rows in the same order
        String v2again = Fixtures.publishTransfer(spark(), dir.resolve("v2-again").toString(), second, Fixtures.FEATURES);
        label(v2again, teacher, out, 2.0);
        assertThat(incremental(out)).containsEntry("reusedRows", 310).containsEntry("relabelledRows", 0);
        assertThat(Storage.of(spark()).publishedManifest(out).text("contentHash"))
                .isEqualTo(published.text("contentHash"));
        assertThat(inFileOrder(out)).isEqualTo(written);

        // another T alone: logits reused, soft recomputed at the new T
        label(v2, teacher, out, 4.0);
        assertThat(incremental(out)).containsEntry("reusedRows", 310);
        Map<Long, float[]> soft = column(out, "soft");
        float[] expected = SoftTargets.soften(after.get(100L), 4.0);
        assertThat(soft.get(100L)).containsExactly(expected);
        // another T again, from the transfer set the output was just labelled from (the path that reads no transfer
        // row; its speed is measured by bench-label.sh relabel, not here): every row reused, re-softened at the new T
        label(v2, teacher, out, 3.0);
        assertThat(incremental(out)).containsEntry("reusedRows", 310).containsEntry("relabelledRows", 0);
        assertThat(column(out, "logits")).usingRecursiveComparison().isEqualTo(after);
        assertThat(column(out, "soft").get(0L)).containsExactly(SoftTargets.soften(after.get(0L), 3.0));
        assertThat(inFileOrder(out).stream().map(r -> r.getLong(0)).toList())
                .isEqualTo(written.stream().map(r -> r.getLong(0)).toList());

        // another teacher: everything is relabelled
        String other = Fixtures.saveZip(spark(), Fixtures.teacher(5, 30), dir.resolve("t2.zip").toString());
        label(v2, other, out, 4.0);
        assertThat(incremental(out).get("fullRelabel").toString()).startsWith("the teacher changed");
        assertThat(incremental(out)).containsEntry("relabelledRows", 310);
    }

    /**
     * An output whose manifest names no input hash version was hashed value by value (Spark's xxhash64, version 1):
     * its hashes cannot be compared with this build's, so the first incremental run relabels every row and says why,
     * and the next one reuses them.
     */
    @Test
    void relabelsEveryRowOnceWhenThePreviousInputHashIsAnotherVersion() throws Exception {
        List<Row> first = rows(120, 11, 0);
        String v1 = Fixtures.publishTransfer(spark(), dir.resolve("h1").toString(), first, Fixtures.FEATURES);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(2, 5), dir.resolve("th.zip").toString());
        String labelled = label(v1, teacher, dir.resolve("h-soft").toString(), 2.0);
        Storage storage = Storage.of(spark());
        Manifest m = storage.publishedManifest(labelled);
        assertThat(m.facts()).containsEntry(InputHash.FACT, InputHash.VERSION);
        // the same output as a build before the versioned hash published it: the fact left out
        String old = dir.resolve("h-old").toString();
        Map<String, Object> facts = new HashMap<>(m.facts());
        facts.remove(InputHash.FACT);
        try (StagedOutput out = StagedOutput.begin(storage, old)) {
            java.nio.file.Files.createDirectories(Path.of(java.net.URI.create(out.stagingDir())));
            try (var files = java.nio.file.Files.list(Path.of(java.net.URI.create(labelled)))) {
                for (Path f : files.filter(f -> f.getFileName().toString().startsWith("part-")).toList()) {
                    java.nio.file.Files.copy(f, Path.of(java.net.URI.create(out.stagingDir())).resolve(f.getFileName()));
                }
            }
            out.publish(Manifest.sealed("label", m.config(), m.inputs(), facts, m.versions(), null), 120,
                    System.nanoTime());
        }
        List<Row> second = new ArrayList<>(first.subList(0, 100));
        String v2 = Fixtures.publishTransfer(spark(), dir.resolve("h2").toString(), second, Fixtures.FEATURES);
        label(v2, teacher, old, 2.0);
        assertThat(incremental(old)).containsEntry("relabelledRows", 100);
        assertThat(incremental(old).get("fullRelabel").toString()).isEqualTo("the input hash changed ("
                + InputHash.VERSION_1 + " -> " + InputHash.VERSION + "): every row is relabelled once, and later runs"
                + " compare the new hashes");
        assertThat(storage.publishedManifest(old).facts()).containsEntry(InputHash.FACT, InputHash.VERSION);
        String v2again = Fixtures.publishTransfer(spark(), dir.resolve("h2-again").toString(), second,
                Fixtures.FEATURES);
        label(v2again, teacher, old, 2.0);
        assertThat(incremental(old)).containsEntry("reusedRows", 100).containsEntry("relabelledRows", 0);
    }

    @Test
    void reusesStoredTopKHalvesAsTheyAre() {
        String v1 = Fixtures.publishTransfer(spark(), dir.resolve("v1").toString(), rows(120, 7, 0), Fixtures.FEATURES);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(8, 20), dir.resolve("t.zip").toString());
        String out = dir.resolve("topk").toString();
        LabelConfig topK = LabelConfig.builder(v1, out).teachers(List.of(teacher)).temperature(2.0).batchSize(64)
                .mode(PublishMode.INCREMENTAL).precision("fp16").topK(2).soft(true).build();
        new LabelJob(spark()).run(topK);
        String hash = Storage.of(spark()).publishedManifest(out).text("contentHash");
        // the same rows under another transfer manifest, so that they are compared row by row
        String copy = Fixtures.publishTransfer(spark(), dir.resolve("v1-copy").toString(), rows(120, 7, 0),
                Fixtures.FEATURES);
        new LabelJob(spark()).run(LabelConfig.builder(copy, out).teachers(List.of(teacher)).temperature(2.0)
                .batchSize(64).mode(PublishMode.INCREMENTAL).precision("fp16").topK(2).soft(true).build());
        assertThat(incremental(out)).containsEntry("reusedRows", 120).containsEntry("relabelledRows", 0);
        // every stored value (fp16 bytes, indices, tail, the soft column of the full-precision logits) is kept
        assertThat(Storage.of(spark()).publishedManifest(out).text("contentHash")).isEqualTo(hash);
        // another T: the soft column needs the full-precision logits that top-K fp16 does not keep
        new LabelJob(spark()).run(LabelConfig.builder(v1, out).teachers(List.of(teacher)).temperature(3.0).batchSize(64)
                .mode(PublishMode.INCREMENTAL).precision("fp16").topK(2).soft(true).build());
        assertThat(incremental(out).get("fullRelabel").toString()).startsWith("T changed, and the soft column");
    }
}
