package org.distillery.jobs.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.TeacherFiles;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * label -> train -> evaluate on hdfs:// paths, against an HDFS MiniDFSCluster (one name node, one data node) started
 * by this test on 127.0.0.1 and stopped by it. Every path is a full hdfs:// URI: no default filesystem is assumed. An
 * ONNX teacher on HDFS is read with the external data file beside it.
 */
class HdfsPipelineTest extends SparkTestBase {
    @TempDir
    static Path base;
    static MiniDFSCluster hdfs;
    static String root;

    @BeforeAll
    static void startHdfs() throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.resolve("hdfs").toString());
        conf.set("dfs.namenode.rpc-address", "127.0.0.1:0");
        conf.set("dfs.datanode.address", "127.0.0.1:0");
        conf.set("dfs.datanode.http.address", "127.0.0.1:0");
        conf.set("dfs.datanode.ipc.address", "127.0.0.1:0");
        conf.set("dfs.namenode.http-address", "127.0.0.1:0");
        hdfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        hdfs.waitActive();
        root = "hdfs://127.0.0.1:" + hdfs.getNameNodePort() + "/distillery";
    }

    @AfterAll
    static void stopHdfs() {
        if (hdfs != null) {
            hdfs.shutdown(true);
        }
    }

    /** The output rule on hdfs:// paths: another spelling of an input, or a parent of it, is refused; nothing moves. */
    @Test
    void outputsAliasingInputsOnHdfs() {
        String transfer = Fixtures.transferSet(spark(), root + "/alias/data/train", 50, 75, 0);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(9, 5), root + "/alias/teacher.zip");
        Storage storage = Storage.of(spark());
        String id = storage.publishedManifest(transfer).id();
        String authority = transfer.substring(0, transfer.indexOf("/distillery"));
        for (String out : List.of(transfer + "/", root + "/alias/data/./train", root + "/alias/data/x/../train",
                authority + "//distillery/alias/data/train", root + "/alias/data")) {
            CliRun r = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--mode",
                    "overwrite");
            assertThat(r.code()).as(out + ": " + r.err()).isEqualTo(2);
            assertThat(r.err()).contains("input --transfer " + transfer).doesNotContain("\tat ");
        }
        assertThat(storage.publishedManifest(transfer).id()).isEqualTo(id);
    }

    @Test
    void labelTrainEvaluateOnHdfs() {
        SparkSession spark = spark();
        String transfer = Fixtures.transferSet(spark, root + "/transfer/dt=2026-11-24", 300, 71, 0);
        String validation = Fixtures.transferSet(spark, root + "/reference/validation", 100, 72, 10_000);
        String test = Fixtures.transferSet(spark, root + "/reference/test", 100, 73, 20_000);
        String teacher = Fixtures.saveZip(spark, Fixtures.teacher(8, 30), root + "/models/teacher.zip");
        assertThat(transfer).startsWith("hdfs://127.0.0.1:");

        String soft = root + "/soft-targets/dt=2026-11-24";
        String student = root + "/students/dt=2026-11-24/kd";
        String eval = root + "/evaluations/dt=2026-11-24";
        for (List<String> job : List.of(
                List.of("label", "--transfer", transfer, "--teacher", teacher, "--out", soft),
                List.of("train", "--soft-targets", soft, "--validation", validation, "--out", student, "--arch",
                        "mlp:8", "--epochs", "2", "--batch-size", "16", "--averaging-frequency", "3",
                        "--checkpoint-dir", root + "/checkpoints/dt=2026-11-24/kd", "--resume"),
                List.of("evaluate", "--test", test, "--teacher", teacher, "--model", "student=" + student, "--out",
                        eval, "--latency-runs", "3"))) {
            List<String> dry = new java.util.ArrayList<>(job);
            dry.add("--dry-run");
            CliRun plan = CliRun.of(dry);
            assertThat(plan.code()).as(job.get(0) + " --dry-run: " + plan.err()).isZero();
            CliRun run = CliRun.of(job);
            assertThat(run.code()).as(job.get(0) + ": " + run.err()).isZero();
            assertThat(run.lastLine()).contains("\"path\":\"hdfs://127.0.0.1:");
        }
        Storage storage = Storage.of(spark);
        Manifest evaluation = storage.publishedManifest(eval);
        assertThat(evaluation.inputs().get("student").manifestId()).isEqualTo(storage.publishedManifest(student).id());
        assertThat(storage.publishedManifest(student).inputs().get("softTargets").manifestId())
                .isEqualTo(storage.publishedManifest(soft).id());
        assertThat(storage.exists(eval + "/report.json")).isTrue();
        assertThat(storage.readText(eval + "/_SUCCESS")).contains("\"job\":\"evaluate\"");

        // the dt= outputs are partitioned tables: a whole-table incremental label keeps the day already labelled,
        // labels a new day, and train reads both days as one table
        Fixtures.transferSet(spark, root + "/transfer/dt=2026-11-25", 200, 74, 1_000);
        List<String> all = List.of("label", "--transfer", root + "/transfer", "--teacher", teacher, "--out",
                root + "/soft-targets", "--mode", "incremental");
        CliRun relabel = CliRun.of(all);
        assertThat(relabel.code()).as(relabel.err()).isZero();
        assertThat(relabel.lastLine()).contains("\"rows\":500", "\"partitionsLabelled\":[\"dt=2026-11-25\"]",
                "\"partitionsKept\":[\"dt=2026-11-24\"]");
        assertThat(storage.publishedManifest(soft).id())
                .isEqualTo(storage.publishedManifest(student).inputs().get("softTargets").manifestId());
        CliRun both = CliRun.of(List.of("train", "--soft-targets", root + "/soft-targets", "--out",
                root + "/students/all/kd", "--arch", "mlp:8", "--dry-run"));
        assertThat(both.code()).as(both.err()).isZero();
        assertThat(both.lastLine()).contains("\"rows\":500");
    }

    @Test
    void anOnnxTeacherOnHdfsTravelsWithItsExternalData() throws Exception {
        SparkSession spark = spark();
        Storage storage = Storage.of(spark);
        String transfer = Fixtures.transferSet(spark, root + "/onnx/transfer", 120, 81, 0);
        MultiLayerNetwork net = Fixtures.teacher(9, 20);
        String zip = Fixtures.saveZip(spark, net, root + "/onnx/teacher.zip");
        Path local = TeacherFiles.write(net, false, base.resolve("onnx"));
        assertThat(local.resolve("teacher.onnx.data")).as("torch.onnx.export keeps the weights beside the model")
                .exists();
        String onnx = root + "/onnx/models/teacher.onnx";
        storage.writeBytes(onnx, Files.readAllBytes(local.resolve("teacher.onnx")));
        storage.writeBytes(root + "/onnx/models/teacher.onnx.data",
                Files.readAllBytes(local.resolve("teacher.onnx.data")));

        CliRun run = CliRun.of("label", "--transfer", transfer, "--teacher", onnx, "--out", root + "/onnx/soft");
        assertThat(run.code()).as(run.err()).isZero();
        CliRun fromZip = CliRun.of("label", "--transfer", transfer, "--teacher", zip, "--out", root + "/onnx/soft-zip");
        assertThat(fromZip.code()).as(fromZip.err()).isZero();
        Map<Long, float[]> expected = logits(spark, root + "/onnx/soft-zip");
        Map<Long, float[]> actual = logits(spark, root + "/onnx/soft");
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        actual.forEach((id, z) -> assertThat(z).as("id " + id).containsExactly(expected.get(id),
                within(1e-4f)));
        assertThat(storage.publishedManifest(root + "/onnx/soft").text("teacherSha256"))
                .isEqualTo(ModelArtifact.read(storage,
                        local.resolve("teacher.onnx").toString()).sha256());
    }

    private static Map<Long, float[]> logits(SparkSession spark, String path) {
        Map<Long, float[]> out = new HashMap<>();
        for (Row r : TransferTables.readSoftTargets(spark, path).rows().collectAsList()) {
            out.put(r.getLong(0), TransferTables.floats(r, 2));
        }
        return out;
    }
}
