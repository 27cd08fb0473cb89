package org.distillery.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Outputs published by an earlier build (golden/v1-320c006: commit 320c006's bin/distill on tiny IDX files of 4 x 4
 * images, 10 classes): a transfer set, a teacher, soft targets in schema v1 and v2 (fp16, top 3, no soft column), with
 * manifests that list no files. This build must keep reading them, verify their manifests, train from them and reuse
 * them on an unchanged rerun, so that a format change cannot silently break reading old outputs.
 */
class GoldenFilesTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static Path golden;

    @BeforeAll
    static void copyGolden() throws Exception {
        Path source = Path.of("src/test/resources/golden/v1-320c006");
        golden = dir.resolve("golden");
        try (Stream<Path> files = Files.walk(source)) {
            for (Path f : files.toList()) {
                Path to = golden.resolve(source.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
    }

    private static String path(String name) {
        return golden.resolve(name).toString();
    }

    @Test
    void manifestsVerifyAndTablesRead() {
        Storage storage = Storage.of(spark());
        for (String name : List.of("data/train", "data/validation", "data/test", "teacher", "soft-v1", "soft-v2")) {
            Manifest m = storage.publishedManifest(path(name)); // recomputes the id from the content
            assertThat(m.files()).as(name + " lists no files: read by directory").isNull();
        }
        assertThat(TransferTables.readTransfer(spark(), path("data/train")).rows().count()).isEqualTo(48);
        TransferTables.SoftTargets v1 = TransferTables.readSoftTargets(spark(), path("soft-v1"));
        TransferTables.SoftTargets v2 = TransferTables.readSoftTargets(spark(), path("soft-v2"));
        assertThat(v1.layout()).isEqualTo(SoftTargetLayout.v1(10));
        assertThat(v2.layout().topK()).isEqualTo(3);
        assertThat(v2.layout().precision()).isEqualTo(SoftTargetLayout.Precision.FP16);

        Map<Long, float[]> dense = logits(v1.logits().collectAsList());
        Map<Long, float[]> decoded = logits(v2.logits().collectAsList());
        assertThat(decoded.keySet()).isEqualTo(dense.keySet()).hasSize(48);
        dense.forEach((id, z) -> {
            float[] top = decoded.get(id);
            int best = org.distillery.model.loss.SoftTargets.argmax(z);
            assertThat(org.distillery.model.loss.SoftTargets.argmax(top)).isEqualTo(best);
            // fp16 keeps 11 significant bits: within 2^-11 of the value (and 1e-7 near zero)
            assertThat((double) top[best]).isCloseTo(z[best], within(Math.abs(z[best]) * 0x1p-11 + 1e-7));
        });
    }

    /** The teacher of an old output gives the logits stored with it (the same fast path; rounding may differ). */
    @Test
    void theOldTeacherGivesTheStoredLogits() {
        ModelArtifact teacher = ModelArtifact.read(Storage.of(spark()), path("teacher"));
        List<Row> rows = TransferTables.readTransfer(spark(), path("data/train")).rows()
                .select("id", "features").orderBy("id").collectAsList();
        float[][] x = new float[rows.size()][];
        for (int i = 0; i < x.length; i++) {
            x[i] = TransferTables.floats(rows.get(i), 1);
        }
        float[][] z = new LogitModel(teacher.network()).logits(Nd4j.create(x).castTo(DataType.FLOAT)).toFloatMatrix();
        Map<Long, float[]> stored = logits(TransferTables.readSoftTargets(spark(), path("soft-v1")).logits()
                .collectAsList());
        for (int i = 0; i < x.length; i++) {
            // the same network on another machine: a few ulps of a logit of magnitude ~1 (see RoundingBound)
            assertThat(z[i]).containsExactly(stored.get(rows.get(i).getLong(0)), within(1e-5f));
        }
    }

    @Test
    void oldOutputsTrainAndAreKeptByAnUnchangedRerun() throws IOException {
        CliRun train = CliRun.of("train", "--soft-targets", path("soft-v2"), "--transfer", path("data/train"),
                "--validation", path("data/validation"), "--out", dir.resolve("student").toString(), "--arch",
                "mlp:4", "--epochs", "1", "--batch-size", "8");
        assertThat(train.code()).as(train.err()).isZero();

        String before = Files.readString(golden.resolve("soft-v1/_manifest.json"));
        CliRun rerun = CliRun.of("label", "--transfer", path("data/train"), "--teacher", path("teacher"), "-T", "2",
                "--out", path("soft-v1"), "--mode", "incremental");
        assertThat(rerun.code()).as(rerun.err()).isZero();
        assertThat(rerun.lastLine()).contains("\"kept\":\"unchanged since manifest "
                + "badb6ed4001e2d6b3b7aa64b0d38e1f5dd548f65bb11366baa756c70181b63ef");
        assertThat(Files.readString(golden.resolve("soft-v1/_manifest.json"))).isEqualTo(before);
    }

    private static Map<Long, float[]> logits(List<Row> rows) {
        Map<Long, float[]> m = new HashMap<>();
        for (Row r : rows) {
            m.put(r.getLong(0), TransferTables.floats(r, r.fieldIndex("logits")));
        }
        return m;
    }
}
