package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.distillery.jobs.IdxFixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IngestJobTest extends SparkTestBase {
    @TempDir
    Path dir;

    @Test
    void writesTrainValidationAndTestWithStableIdsAndAStratifiedValidationSlice() throws Exception {
        Path source = IdxFixtures.write(dir.resolve("idx"), 200, 50, 6, 1);
        List<JobResult> results = new IngestJob(spark()).run(IngestConfig.idx(source.toString(),
                dir.resolve("data").toString(), 40, 7));

        assertThat(results).extracting(JobResult::rows).containsExactly(160L, 40L, 50L);
        TransferTables.Transfer train = TransferTables.readTransfer(spark(), dir.resolve("data/train").toString());
        TransferTables.Transfer validation = TransferTables.readTransfer(spark(), dir.resolve("data/validation").toString());
        List<Long> trainIds = train.rows().select("id").as(org.apache.spark.sql.Encoders.LONG()).collectAsList();
        List<Row> val = validation.rows().collectAsList();
        assertThat(trainIds).doesNotContainAnyElementsOf(val.stream().map(r -> r.getLong(0)).toList());
        long[] perClass = new long[10];
        val.forEach(r -> perClass[r.getInt(2)]++);
        assertThat(perClass).containsOnly(4);
        Row r = val.get(0);
        float[] f = TransferTables.floats(r, 1);
        assertThat(f).hasSize(36);
        for (float v : f) {
            assertThat(v).isBetween(0f, 1f);
        }
        assertThat(train.featureCount()).isEqualTo(36);
        assertThat(((java.util.Map<?, ?>) train.manifest().facts().get("source")).containsKey("sha256")).isTrue();
        assertThat(org.distillery.model.schema.TransferSchema.classNames(train.manifest()))
                .startsWith("T-shirt/top", "Trouser").endsWith("Ankle boot");
        assertThat(org.distillery.model.schema.TransferSchema.shape(train.manifest())).containsExactly(1, 6, 6);
        // pixels are stored as pixel / 255f, recorded as the transform an exported model must apply
        assertThat(org.distillery.model.schema.FeatureTransform.of(train.manifest()))
                .isEqualTo(org.distillery.model.schema.FeatureTransform.scale("1/255"));

        // same seed, same split: the validation ids are a function of (seed, id, label) only
        boolean[] again = IdxSource.validationSlice(labels(200), 40, 7);
        assertThat(val.stream().map(x -> x.getLong(0)).sorted().toList())
                .isEqualTo(java.util.stream.IntStream.range(0, 200).filter(i -> again[i]).mapToObj(i -> (long) i).toList());
    }

    private static int[] labels(int n) {
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 10;
        }
        return y;
    }

    @Test
    void refusesToOverwriteAPublishedSplit() throws Exception {
        Path source = IdxFixtures.write(dir.resolve("idx"), 60, 20, 4, 1);
        String out = dir.resolve("data").toString();
        new IngestJob(spark()).run(IngestConfig.idx(source.toString(), out, 10, 7));
        String id = Storage.of(spark()).publishedManifest(out + "/train").id();
        assertThatThrownBy(() -> new IngestJob(spark()).run(IngestConfig.idx(source.toString(), out, 20, 7)))
                .hasMessageStartingWith("output already exists");
        assertThat(Storage.of(spark()).publishedManifest(out + "/train").id()).isEqualTo(id);
    }

    @Test
    void resumesAnInterruptedRunKeepingTheSplitsItAlreadyPublished() throws Exception {
        Path source = IdxFixtures.write(dir.resolve("idx"), 60, 20, 4, 1);
        String out = dir.resolve("data").toString();
        IngestConfig config = IngestConfig.idx(source.toString(), out, 10, 7);
        new IngestJob(spark()).run(config);
        String trainId = Storage.of(spark()).publishedManifest(out + "/train").id();
        Storage.of(spark()).delete(out + "/test"); // as if the first run died before publishing test

        List<JobResult> again = new IngestJob(spark()).run(config);
        assertThat(again.get(0).seconds()).isZero();
        assertThat(again.get(0).manifestId()).isEqualTo(trainId);
        assertThat(again.get(2).rows()).isEqualTo(20);
        assertThat(Storage.of(spark()).publishedManifest(out + "/test").job()).isEqualTo("ingest");
    }

    @Test
    void namesAMissingSourceFile() {
        assertThatThrownBy(() -> new IngestJob(spark()).run(IngestConfig.idx(dir.resolve("no-idx").toString(),
                dir.resolve("data").toString(), 10, 7)))
                .hasMessageStartingWith("Fashion-MNIST file train-images-idx3-ubyte[.gz] not found in --source "
                        + dir.resolve("no-idx"));
    }
}
