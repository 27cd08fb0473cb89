package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.PublishMode;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.train.Objective;
import org.distillery.jobs.train.TrainConfig;
import org.distillery.jobs.train.TrainJob;
import org.distillery.model.data.Batches;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.loss.SoftTargets;
import org.distillery.model.nn.Architecture;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetCodec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Soft-target storage modes (schema version 2): fp16, top-K with the tail's log-sum-exp, the soft column optional;
 * compared with the default (version 1) output of the same teacher, and trained on.
 */
class SoftTargetStorageTest extends SparkTestBase {
    private static final int ROWS = 600;
    @TempDir
    static Path dir;
    static String transfer;
    static String validation;
    static String teacher;
    static Map<Long, float[]> exact; // the default output's logits by id

    @BeforeAll
    static void fixtures() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), ROWS, 21, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 200, 22, 10_000);
        teacher = Fixtures.saveZip(spark(), Fixtures.teacher(9, 60), dir.resolve("teacher.zip").toString());
        exact = logitsById(label("dense", null, null, null));
    }

    private static LabelConfig config(String out, String precision, Integer topK, Boolean soft) {
        return LabelConfig.builder(transfer, dir.resolve(out).toString()).teacher(teacher).temperature(2.0)
                .batchSize(128).build().withStorage(precision, topK,
                soft);
    }

    private static String label(String out, String precision, Integer topK, Boolean soft) {
        return new LabelJob(spark()).run(config(out, precision, topK, soft)).path();
    }

    /** Dense logits by id, decoded the way every reader decodes them. */
    private static Map<Long, float[]> logitsById(String path) {
        Map<Long, float[]> m = new HashMap<>();
        for (Row r : TransferTables.readSoftTargets(spark(), path).logits().collectAsList()) {
            m.put(r.getLong(0), TransferTables.floats(r, 2));
        }
        return m;
    }

    private static StructType parquetSchema(String path) {
        return spark().read().parquet(path).schema();
    }

    @Test
    void topKInFp16StoresHalvesAndTheTailAndReadsBackExactAtTemperatureOne() {
        String out = label("top2-fp16", "fp16", 2, null);

        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.number("softTargetSchemaVersion")).isEqualTo(2);
        assertThat(m.text("precision")).isEqualTo("fp16");
        assertThat(m.number("topK")).isEqualTo(2);
        assertThat(m.facts().get("softStored")).isEqualTo(false);
        assertThat(m.config().has("topK")).isTrue();
        assertThat(parquetSchema(out).simpleString())
                .isEqualTo("struct<id:bigint,label:int,topk_index:array<int>,topk_logit:binary,tail_lse:float,input_hash:bigint>");

        Map<Long, float[]> decoded = logitsById(out);
        assertThat(decoded).hasSize(ROWS);
        for (Map.Entry<Long, float[]> e : exact.entrySet()) {
            float[] z = e.getValue();
            float[] r = decoded.get(e.getKey());
            int[] order = SoftTargetCodec.topK(z, Fixtures.CLASSES).index();
            float[] p = SoftTargets.soften(z, 1);
            float[] q = SoftTargets.soften(r, 1);
            for (int j = 0; j < 2; j++) {
                int c = order[j];
                assertThat((double) r[c]).isCloseTo(z[c], within(Math.abs(z[c]) * 0x1p-11 + 1e-7));
                assertThat((double) q[c]).isCloseTo(p[c], within(2e-3)); // up to the fp16 rounding of the logits
            }
            assertThat(q[order[2]] + q[order[3]]).isCloseTo(p[order[2]] + p[order[3]], within(2e-3f));
            assertThat(r[order[2]]).isEqualTo(r[order[3]]);
            assertThat(SoftTargets.argmax(r)).isEqualTo(SoftTargets.argmax(z));
        }
    }

    @Test
    void fp16AndNoSoftKeepEveryLogit() {
        String fp16 = label("fp16", "fp16", null, null);
        assertThat(parquetSchema(fp16).simpleString()).isEqualTo("struct<id:bigint,label:int,logits:binary,input_hash:bigint>");
        Map<Long, float[]> halves = logitsById(fp16);
        exact.forEach((id, z) -> {
            for (int c = 0; c < z.length; c++) {
                assertThat((double) halves.get(id)[c]).isCloseTo(z[c], within(Math.abs(z[c]) * 0x1p-11 + 1e-7));
            }
        });

        String noSoft = label("no-soft", null, null, false);
        assertThat(parquetSchema(noSoft).simpleString()).isEqualTo("struct<id:bigint,label:int,logits:array<float>,input_hash:bigint>");
        assertThat(Storage.of(spark()).publishedManifest(noSoft).number("softTargetSchemaVersion")).isEqualTo(2);
        Map<Long, float[]> same = logitsById(noSoft);
        exact.forEach((id, z) -> assertThat(same.get(id)).containsExactly(z));
    }

    @Test
    void theDefaultIsStillVersionOneAndDriftComparesDecodedLogitsAcrossLayouts() throws Exception {
        String target = label("relabel", null, null, null);
        Manifest v1 = Storage.of(spark()).publishedManifest(target);
        assertThat(v1.number("softTargetSchemaVersion")).isEqualTo(1);
        assertThat(v1.config().has("precision")).as("default config JSON unchanged").isFalse();
        assertThat(parquetSchema(target).fieldNames()).containsExactly("id", "label", "logits", "soft", "input_hash");

        new LabelJob(spark()).run(LabelConfig.builder(transfer, target).teacher(teacher).temperature(2.0).batchSize(128)
                .mode(PublishMode.OVERWRITE).build()
                .withStorage("fp16", null, null));
        var drift = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Storage.of(spark()).readText(target + "/" + LabelReports.DRIFT));
        assertThat(drift.get("rowsCompared").asLong()).isEqualTo(ROWS);
        assertThat(drift.get("meanKlPreviousToNew").asDouble()).isLessThan(1e-4);
    }

    @Test
    void aKdStudentLearnsFromTopKFp16SoftTargets() {
        String soft = label("top2-fp16-train", "fp16", 2, null);
        String out = dir.resolve("kd").toString();
        new TrainJob(spark()).run(TrainConfig.builder(Objective.KD).softTargets(soft)
                .validation(validation).out(out).architecture("mlp:8").epochs(4).patience(4).learningRate(0.01)
                .alphas(List.of(0.5)).labelled(40).batchSize(16).averagingFrequency(3).build());

        ModelArtifact model = ModelArtifact.read(Storage.of(spark()), out);
        assertThat(model.manifest().inputs().get("softTargets").manifestId())
                .isEqualTo(Storage.of(spark()).publishedManifest(soft).id());
        // the loss against the teacher's full-precision targets at T = 2: fresh initialisation (same seed) vs trained
        DistillationLoss loss = new DistillationLoss(2.0, 0.5);
        DataSet batch = exactBatch(2.0);
        MultiLayerNetwork fresh = new Architecture(List.of(8), 0).build(Fixtures.FEATURES, Fixtures.CLASSES, loss, 0.01,
                42);
        assertThat(model.network().score(batch)).isLessThan(0.7 * fresh.score(batch));
    }

    /** Every transfer row with the exact (default output's) soft targets at {@code t} and its hard label. */
    private static DataSet exactBatch(double t) {
        List<Batches.Example> rows = new ArrayList<>();
        for (Row r : TransferTables.readTransfer(spark(), transfer).rows().collectAsList()) {
            rows.add(new Batches.Example(TransferTables.floats(r, 1), exact.get(r.getLong(0)), r.getInt(2)));
        }
        return Batches.toDataSet(rows, Fixtures.CLASSES, t);
    }

    @Test
    void kAboveTheTeachersClassCountIsRefusedBeforeSparkRuns() {
        LabelConfig five = config("k5", null, 5, null);
        String message = "top-k must be in [1, 4] (the teacher's class count), got 5";
        assertThatThrownBy(() -> LabelJob.dryRun(Storage.of(spark()), five)).hasMessage(message);
        assertThatThrownBy(() -> new LabelJob(spark()).run(five)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage(message);
        assertThat(Files.exists(dir.resolve("k5"))).isFalse();
        assertThat(LabelJob.dryRun(Storage.of(spark()), config("k4", null, 4, null)).summaryJson())
                .contains("all 4 logits");
        assertThatThrownBy(() -> config("k0", null, 0, null)).hasMessage("top-k must be in [1, classes], got 0");
        assertThatThrownBy(() -> config("fp8", "fp8", null, null))
                .hasMessage("precision must be fp32 or fp16, got 'fp8'");
    }
}
