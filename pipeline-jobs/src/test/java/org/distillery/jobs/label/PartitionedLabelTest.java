package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.PartitionedTable;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainJob;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A transfer set partitioned by day, labelled and relabeled one partition at a time: partitions not selected or
 * unchanged are never rewritten, and readers take the partitioned soft targets as one table only when every partition
 * was labelled from the transfer partition as it is now, by the same teacher.
 */
class PartitionedLabelTest extends SparkTestBase {
    @TempDir
    Path dir;

    private Storage storage() {
        return Storage.of(spark());
    }

    private String day(String transfer, int day) {
        return Fixtures.transferSet(spark(), transfer + "/day=" + day, 100, 40 + day, day * 1000L);
    }

    private JobResult label(String transfer, String teacher, String out, PublishMode mode, String... partitions) {
        return new LabelJob(spark()).run(LabelConfig.builder(transfer, out).teachers(List.of(teacher)).temperature(2.0)
                .batchSize(64).mode(mode).build().withPartitions(List.of(partitions)));
    }

    private String manifestId(String path) {
        return storage().publishedManifest(path).id();
    }

    private TrainConfig kd(String soft, String out) {
        return TrainConfig.builder(Objective.KD).softTargets(soft).out(out).architecture("mlp:8").epochs(1)
                .patience(1).learningRate(0.01).alphas(List.of(1.0)).batchSize(16).averagingFrequency(2).build();
    }

    @Test
    void relabelsOnlyTheSelectedAndTheChangedPartitions() throws Exception {
        String transfer = dir.resolve("transfer").toString();
        for (int d = 1; d <= 3; d++) {
            day(transfer, d);
        }
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(2, 30), dir.resolve("t.zip").toString());
        String out = dir.resolve("soft").toString();

        JobResult first = label(transfer, teacher, out, PublishMode.INCREMENTAL);
        assertThat(first.details()).containsEntry("partitionsLabelled", List.of("day=1", "day=2", "day=3"))
                .containsEntry("partitionsKept", List.of()).containsEntry("rowsWritten", 300L);
        assertThat(first.rows()).isEqualTo(300);
        PartitionedTable table = PartitionedTable.read(storage(), out);
        assertThat(first.manifestId()).isEqualTo(table.id());
        for (int day = 1; day <= 3; day++) { // each partition labelled from the transfer partition of its name
            int d = day;
            String partition = out + "/day=" + d;
            assertThat(storage().publishedManifest(partition).inputs().get("transfer"))
                    .isEqualTo(new Manifest.Input(storage().qualify(transfer + "/day=" + d),
                            manifestId(transfer + "/day=" + d)));
            assertThat(spark().read().parquet(partition).select("id").as(org.apache.spark.sql.Encoders.LONG())
                    .collectAsList()).hasSize(100).allMatch(id -> id / 1000 == d);
        }
        // readers see one table: every row, no partition column, chained to the whole transfer table
        TransferTables.SoftTargets soft = TransferTables.readSoftTargets(spark(), out);
        assertThat(soft.rows().count()).isEqualTo(300);
        assertThat(soft.rows().columns()).doesNotContain("day");
        assertThat(soft.manifest().number("rows")).isEqualTo(300);
        assertThat(soft.manifest().inputs().get("transfer"))
                .isEqualTo(new Manifest.Input(storage().qualify(transfer), PartitionedTable.read(storage(), transfer)
                        .id()));
        JobResult trained = new TrainJob(spark()).run(kd(out, dir.resolve("student").toString()));
        assertThat(storage().publishedManifest(trained.path()).inputs().get("softTargets").manifestId())
                .isEqualTo(table.id());

        // a new day: train refuses the stale soft targets, naming the partition; labeling that day alone fixes it
        day(transfer, 4);
        String plan = LabelJob.dryRun(storage(), LabelConfig.builder(transfer, out).teachers(List.of(teacher))
                .temperature(2.0).batchSize(64).mode(PublishMode.INCREMENTAL).build()).summaryJson();
        assertThat(plan).contains("\"day=1\":\"100 rows: kept: unchanged since manifest " + manifestId(out + "/day=1"))
                .contains("\"day=4\":\"100 rows: new\"");
        assertThatThrownBy(() -> TrainJob.dryRun(storage(), kd(out, dir.resolve("s2").toString())))
                .hasMessageContaining("day=4 is not labelled");
        Map<String, String> before = Map.of("day=1", manifestId(out + "/day=1"), "day=2", manifestId(out + "/day=2"),
                "day=3", manifestId(out + "/day=3"));
        long modified = Files.getLastModifiedTime(Path.of(out, "day=1", Manifest.SUCCESS)).toMillis();
        JobResult fourth = label(transfer, teacher, out, PublishMode.INCREMENTAL, "day=4");
        assertThat(fourth.details()).containsEntry("partitionsLabelled", List.of("day=4"));
        assertThat(fourth.rows()).isEqualTo(400);
        before.forEach((name, id) -> assertThat(manifestId(out + "/" + name)).isEqualTo(id));
        assertThat(Files.getLastModifiedTime(Path.of(out, "day=1", Manifest.SUCCESS)).toMillis()).isEqualTo(modified);
        assertThat(TrainJob.dryRun(storage(), kd(out, dir.resolve("s2").toString())).summaryJson())
                .contains("\"rows\":400");

        // the same command over every partition again: nothing to do, nothing rewritten
        JobResult again = label(transfer, teacher, out, PublishMode.INCREMENTAL);
        assertThat(again.details()).containsEntry("partitionsLabelled", List.of())
                .containsEntry("partitionsKept", List.of("day=1", "day=2", "day=3", "day=4"));
        assertThat(again.manifestId()).isEqualTo(fourth.manifestId());

        // day 2 corrected (10 rows changed): only day 2 is relabeled, and only its changed rows
        List<Row> corrected = new ArrayList<>(spark().read().parquet(transfer + "/day=2").orderBy("id").collectAsList());
        float[] bright = new float[Fixtures.FEATURES];
        java.util.Arrays.fill(bright, 3f);
        for (int i = 0; i < 10; i++) {
            corrected.set(i, RowFactory.create(corrected.get(i).getLong(0), bright, corrected.get(i).get(2)));
        }
        String staging = dir.resolve("day2").toString();
        Fixtures.publishTransfer(spark(), staging, corrected, Fixtures.FEATURES);
        storage().delete(transfer + "/day=2");
        storage().rename(staging, transfer + "/day=2");
        JobResult fixed = label(transfer, teacher, out, PublishMode.INCREMENTAL);
        assertThat(fixed.details()).containsEntry("partitionsLabelled", List.of("day=2"))
                .containsEntry("rowsWritten", 100L);
        assertThat(storage().publishedManifest(out + "/day=2").facts().get("incremental"))
                .isEqualTo(Map.of("previousManifest", before.get("day=2"), "reusedRows", 90, "relabelledRows", 10));
        assertThat(manifestId(out + "/day=1")).isEqualTo(before.get("day=1"));

        // a new teacher on day 1 only: the table mixes teachers, and readers refuse it until the rest is relabeled
        String other = Fixtures.saveZip(spark(), Fixtures.teacher(5, 30), dir.resolve("t2.zip").toString());
        label(transfer, other, out, PublishMode.OVERWRITE, "day=1");
        assertThatThrownBy(() -> TransferTables.checkSoftTargets(storage(), out))
                .hasMessageContaining("disagree on teacherSha256").hasMessageContaining("day=1");
        JobResult rest = label(transfer, other, out, PublishMode.INCREMENTAL); // e.g. the Airflow retry
        assertThat(rest.details()).containsEntry("partitionsLabelled", List.of("day=2", "day=3", "day=4"))
                .containsEntry("partitionsKept", List.of("day=1"));
        assertThat(TransferTables.checkSoftTargets(storage(), out).text("teacherSha256"))
                .isEqualTo(storage().publishedManifest(out + "/day=1").text("teacherSha256"));
    }

    @Test
    void refusesBadPartitionRequestsBeforeWritingAnything() {
        String transfer = dir.resolve("transfer").toString();
        day(transfer, 1);
        day(transfer, 2);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(3, 10), dir.resolve("t.zip").toString());
        String out = dir.resolve("soft").toString();
        label(transfer, teacher, out, PublishMode.FAIL_IF_EXISTS, "day=1");
        assertThat(PartitionedTable.childNames(storage(), out)).containsExactly("day=1");

        assertThatThrownBy(() -> label(transfer, teacher, out, PublishMode.FAIL_IF_EXISTS, "day=9"))
                .hasMessage("partition day=9 not found in transfer set " + storage().qualify(transfer)
                        + " (it has [day=1, day=2])");
        // day=2 is new, but day=1 exists: refused before day=2 is labelled
        assertThatThrownBy(() -> label(transfer, teacher, out, PublishMode.FAIL_IF_EXISTS))
                .hasMessageStartingWith("output partition already exists").hasMessageEndingWith("/soft/day=1");
        assertThat(PartitionedTable.childNames(storage(), out)).containsExactly("day=1");
        assertThatThrownBy(() -> LabelConfig.builder(transfer, out).teacher(teacher).temperature(2.0).batchSize(64)
                .build().withPartitions(List.of("2026-11-24")))
                .hasMessage("partition must be COLUMN=VALUE (e.g. date=2026-11-24), got '2026-11-24'");
        String single = Fixtures.transferSet(spark(), dir.resolve("single").toString(), 50, 7, 0);
        assertThatThrownBy(() -> label(single, teacher, dir.resolve("o1").toString(), PublishMode.FAIL_IF_EXISTS,
                "day=1")).hasMessageStartingWith("--partition needs a partitioned transfer set");
        // a published unpartitioned output cannot take partitions
        assertThatThrownBy(() -> label(transfer, teacher, single, PublishMode.OVERWRITE))
                .hasMessageContaining("is a published table, not partitioned");

        // a partition directory that was never published (e.g. copied by hand) is named
        Path half = dir.resolve("transfer/day=3");
        half.toFile().mkdirs();
        assertThatThrownBy(() -> label(transfer, teacher, out, PublishMode.INCREMENTAL))
                .hasMessageStartingWith("input is not a published distillery output").hasMessageEndingWith("day=3");
        storage().delete(half.toString());
        // partitions that disagree on the feature count cannot be one table
        Fixtures.publishTransfer(spark(), transfer + "/day=3", List.of(RowFactory.create(3000L, new float[3], 1)), 3);
        assertThatThrownBy(() -> label(transfer, teacher, out, PublishMode.INCREMENTAL))
                .hasMessageContaining("disagree on featureCount");
        assertThat(PartitionedTable.childNames(storage(), out)).containsExactly("day=1");
    }

    @Test
    void trainRefusesIdsThatRepeatAcrossPartitions() {
        String transfer = dir.resolve("transfer").toString();
        Fixtures.transferSet(spark(), transfer + "/day=1", 60, 1, 0);
        Fixtures.transferSet(spark(), transfer + "/day=2", 60, 2, 30); // ids 30-59 in both days
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(4, 10), dir.resolve("t.zip").toString());
        String out = label(transfer, teacher, dir.resolve("soft").toString(), PublishMode.FAIL_IF_EXISTS).path();
        assertThatThrownBy(() -> new TrainJob(spark()).run(kd(out, dir.resolve("student").toString())))
                .hasMessageStartingWith("row ids repeat: joining 120 transfer rows with the soft targets")
                .hasMessageContaining("gave 180 rows");
    }
}
