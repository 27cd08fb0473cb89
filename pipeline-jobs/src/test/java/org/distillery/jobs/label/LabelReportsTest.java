package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.loss.SoftTargets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The soft-label quality report of every label run and the drift report of a relabel over a previous output. */
class LabelReportsTest extends SparkTestBase {
    @TempDir
    Path dir;

    private JsonNode report(String out, String name) throws Exception {
        return new ObjectMapper().readTree(Storage.of(spark()).readText(out + "/" + name));
    }

    @Test
    void qualityReportFlagsAClassMissingFromTheTransferSet() throws Exception {
        int[] y = Fixtures.labels(300, 5);
        float[][] x = Fixtures.features(300, y, 6);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < y.length; i++) {
            if (y[i] != 2) { // class 2 omitted, as in Hinton's omitted-class experiment
                rows.add(RowFactory.create((long) i, x[i], i % 3 == 0 ? null : y[i]));
            }
        }
        String transfer = Fixtures.publishTransfer(spark(), dir.resolve("transfer").toString(), rows, Fixtures.FEATURES);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(9, 40), dir.resolve("t.zip").toString());
        String out = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("soft").toString())
                .teacher(teacher).temperature(2.0).batchSize(64).build()).path();

        JsonNode q = report(out, LabelReports.QUALITY);
        assertThat(q.get("classesMissingFromTransferSet").toString()).isEqualTo("[2]");
        assertThat(q.get("rowsByHardLabel").get(2).asLong()).isZero();
        long labelled = rows.stream().filter(r -> !r.isNullAt(2)).count();
        long sumLabels = 0;
        for (JsonNode n : q.get("rowsByHardLabel")) {
            sumLabels += n.asLong();
        }
        assertThat(sumLabels).isEqualTo(labelled);
        assertThat(q.get("unlabelledRows").asLong()).isEqualTo(rows.size() - labelled);
        for (String h : List.of("entropyHistogram", "maxProbabilityHistogram")) {
            long total = 0;
            for (JsonNode n : q.get(h).get("counts")) {
                total += n.asLong();
            }
            assertThat(total).as(h).isEqualTo(rows.size());
        }
        assertThat(q.get("teacherDisagreesWithHardLabelRate").get(2).isNull()).isTrue();
        assertThat(q.get("teacherDisagreesWithHardLabelRate").get(0).asDouble()).isBetween(0.0, 1.0);
        assertThat(Storage.of(spark()).publishedManifest(out).facts().get("classesMissingFromTransferSet"))
                .isEqualTo(List.of(2));
    }

    @Test
    void relabelWithANewTeacherReportsTheDrift() throws Exception {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 400, 11, 0);
        String oldTeacher = Fixtures.saveZip(spark(), Fixtures.teacher(1, 3), dir.resolve("old.zip").toString());
        String newTeacher = Fixtures.saveZip(spark(), Fixtures.teacher(2, 40), dir.resolve("new.zip").toString());
        String target = dir.resolve("soft").toString();
        new LabelJob(spark()).run(LabelConfig.builder(transfer, target).teacher(oldTeacher).temperature(2.0)
                .batchSize(64).build());
        Map<Long, float[]> before = logits(target);
        assertThat(Storage.of(spark()).exists(target + "/" + LabelReports.DRIFT)).isFalse();

        new LabelJob(spark()).run(LabelConfig.builder(transfer, target).teacher(newTeacher).temperature(2.0)
                .batchSize(64).mode(PublishMode.OVERWRITE).build());
        Map<Long, float[]> after = logits(target);
        JsonNode d = report(target, LabelReports.DRIFT);
        long flips = 0;
        double kl = 0;
        for (Map.Entry<Long, float[]> e : before.entrySet()) {
            float[] now = after.get(e.getKey());
            flips += SoftTargets.argmax(e.getValue()) != SoftTargets.argmax(now) ? 1 : 0;
            kl += SoftTargets.kl(SoftTargets.soften(e.getValue(), 2.0), SoftTargets.soften(now, 2.0));
        }
        assertThat(d.get("rowsCompared").asLong()).isEqualTo(400);
        assertThat(d.get("rowsChanged").asLong()).isEqualTo(400);
        assertThat(d.get("argmaxFlips").asLong()).isEqualTo(flips).isPositive();
        assertThat(d.get("meanKlPreviousToNew").asDouble()).isCloseTo(kl / 400,
                org.assertj.core.api.Assertions.within(1e-6));
        assertThat(d.get("teacherSha256").asText()).isNotEqualTo(d.get("previousTeacherSha256").asText());

        // the same teacher again: nothing drifts
        new LabelJob(spark()).run(LabelConfig.builder(transfer, target).teacher(newTeacher).temperature(2.0)
                .batchSize(64).mode(PublishMode.OVERWRITE).build());
        JsonNode same = report(target, LabelReports.DRIFT);
        assertThat(same.get("rowsChanged").asLong()).isZero();
        assertThat(same.get("rowsChangedTolerance").asDouble()).isEqualTo(LabelReports.CHANGED);
        assertThat(same.get("argmaxFlips").asLong()).isZero();
        assertThat(same.get("meanKlPreviousToNew").asDouble()).isZero();
    }

    /**
     * The same teacher on another CPU (another gemm kernel) gives logits a few ulps apart: that is not drift. Such rows
     * are counted apart, so that a relabel on another machine does not report every row as changed.
     */
    @Test
    void roundingIsNotDrift() {
        float[] old = {2.5f, -1.25f, 0.003f, 17f};
        float[] ulps = {Math.nextUp(2.5f), -1.25f, Math.nextDown(0.003f), Math.nextUp(Math.nextUp(17f))};
        float[] moved = {2.5f, -1.25f, 0.01f, 17f};
        LabelReports.Drift d = new LabelReports.Drift(4).add(old, old, 1).add(old, ulps, 1).add(old, moved, 1);
        assertThat(d.compared).isEqualTo(3);
        assertThat(d.changedBits).isEqualTo(2);
        assertThat(d.changed).as("only the row whose logit moved by 0.007 of a scale of 17").isEqualTo(1);
        assertThat(LabelReports.Drift.changed(old, new float[] {2.5f, -1.25f, Float.NaN, 17f})).isTrue();
    }

    private Map<Long, float[]> logits(String path) {
        Map<Long, float[]> m = new HashMap<>();
        for (Row r : spark().read().parquet(path).select("id", "logits").collectAsList()) {
            m.put(r.getLong(0), TransferTables.floats(r, 1));
        }
        return m;
    }
}
