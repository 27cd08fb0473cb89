package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.JobResult;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.SoftTargetSchema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failed task attempts are retried by Spark; the published output must not notice. */
class LabelFaultsTest extends SparkTestBase {
    @TempDir
    Path dir;

    @AfterEach
    void noFaults() {
        TeacherInference.faultInjector = null;
    }

    @Test
    void retriedTasksGiveExactlyTheRowsOfARunWithoutFaults() {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 500, 41, 0);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(5, 10), dir.resolve("teacher.zip").toString());
        JobResult clean = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("clean").toString())
                .teacher(teacher).temperature(2.0).batchSize(32).build());

        Set<Integer> failed = ConcurrentHashMap.newKeySet();
        TeacherInference.faultInjector = task -> task.attemptNumber() == 0 && task.partitionId() % 2 == 0
                && failed.add(task.partitionId());
        JobResult faulty = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("faulty").toString())
                .teacher(teacher).temperature(2.0).batchSize(32).build());

        assertThat(failed).as("first attempts that failed").isNotEmpty();
        assertThat(faulty.rows()).isEqualTo(500);
        List<Row> rows = spark().read().parquet(faulty.path()).collectAsList();
        assertThat(rows).hasSize(500);
        assertThat(rows.stream().map(r -> r.getLong(0)).distinct().count()).isEqualTo(500);
        Storage s = Storage.of(spark());
        assertThat(s.publishedManifest(faulty.path()).text("contentHash"))
                .isEqualTo(s.publishedManifest(clean.path()).text("contentHash"));
        // the writing tasks computed the content hash and quality report: what the written files give when read back,
        // counting each row once though failed attempts had labelled some
        for (JobResult r : List.of(clean, faulty)) {
            Dataset<Row> written = TransferTables.readPublished(spark(), r.path());
            assertThat(s.publishedManifest(r.path()).text("contentHash"))
                    .isEqualTo(TransferTables.contentHash(TransferTables.contentSummary(written)));
            int classes = (int) s.publishedManifest(r.path()).number(SoftTargetSchema.CLASSES);
            Map<String, Object> quality = LabelReports.quality(TransferTables.denseLogits(written,
                    SoftTargetLayout.v1(classes)), TransferTables.classNames(s.publishedManifest(transfer), classes),
                    2.0);
            assertThat(s.readText(r.path() + "/" + LabelReports.QUALITY)).isEqualTo(Manifest.json(quality));
        }
    }
}
