package org.distillery.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus: one case per kind of input that once lost data or passed silently, run through the real
 * command line. Each case must exit with code 2 and one line naming the problem (and the row id, for a bad row),
 * print no stack trace, publish nothing, and leave every published input and output byte for byte as it was. Bad rows
 * found inside Spark tasks run in a child JVM started like bin/distill, so that what Spark logs to the console is
 * what a user would see.
 */
class BadInputCorpusTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String transfer;
    static String validation;
    static String teacher;
    static String soft;
    static String student;

    @BeforeAll
    static void publishInputs() {
        transfer = Fixtures.transferSet(spark(), dir.resolve("data/train").toString(), 200, 41, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("data/validation").toString(), 80, 42, 10_000);
        teacher = Fixtures.saveZip(spark(), Fixtures.teacher(3, 10), dir.resolve("teacher.zip").toString());
        soft = dir.resolve("soft/train").toString();
        assertThat(CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", soft).code()).isZero();
        student = dir.resolve("students/kd").toString();
        CliRun train = CliRun.of("train", "--soft-targets", soft, "--validation", validation, "--out", student,
                "--arch", "mlp:8", "--epochs", "1");
        assertThat(train.code()).as(train.err()).isZero();
    }

    /** Runs a case in this JVM and checks the rule every bad input must keep. */
    private static CliRun refused(String expected, String... args) throws IOException {
        Map<String, String> before = tree(dir);
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as("exit code of %s: %s", List.of(args), r.err()).isEqualTo(2);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines).as("stderr of %s", List.of(args)).hasSize(1);
        assertThat(lines.get(0)).startsWith("distill " + args[0] + ": error: ").contains(expected);
        assertThat(tree(dir)).as("files after %s", List.of(args)).isEqualTo(before);
        return r;
    }

    @Test
    void outputsThatAliasAnInputInAnySpelling() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolve("link-to-data"), dir.resolve("data"));
        for (String out : List.of(transfer + "/", dir + "/data/./train", dir + "/data/x/../train",
                local(transfer).toString(), "file://" + local(transfer), link + "/train")) {
            refused("is the same location as input --transfer", "label", "--transfer", transfer, "--teacher", teacher,
                    "--out", out, "--mode", "overwrite");
        }
        refused("contains input --transfer", "label", "--transfer", transfer, "--teacher", teacher, "--out",
                dir.resolve("data").toString(), "--mode", "overwrite");
        refused("is the same location as input --soft-targets", "train", "--soft-targets", soft, "--out", soft + "/.",
                "--mode", "overwrite");
        refused("contains input --transfer (from the soft targets' manifest)", "train", "--soft-targets", soft,
                "--out", dir.resolve("data").toString(), "--mode", "overwrite");
        refused("is the same location as input --test", "evaluate", "--test", validation, "--teacher", teacher,
                "--model", "kd=" + student, "--out", validation, "--mode", "overwrite");
        refused("contains input --model", "evaluate", "--test", validation, "--teacher", teacher,
                "--model", "kd=" + student, "--out", dir.resolve("students").toString(), "--mode", "overwrite");
    }

    @Test
    void outputsThatCannotBeCreated() throws Exception {
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        refused("cannot be created: file:" + file + " is a file", "label", "--transfer", transfer, "--teacher",
                teacher, "--out", file + "/soft");
        refused("is a file", "train", "--soft-targets", soft, "--out", file + "/a/b");
        Path notOurs = Files.createDirectories(dir.resolve("someone-elses"));
        Files.writeString(notOurs.resolve("notes.txt"), "keep me");
        refused("refusing to replace", "train", "--soft-targets", soft, "--out", notOurs.toString(), "--mode",
                "overwrite", "--arch", "mlp:4", "--epochs", "1");
    }

    @Test
    void manifestsEditedDamagedOrUnreadable() throws Exception {
        Path copy = copyOf(local(transfer), "edited");
        Path manifest = copy.resolve(Manifest.FILE_NAME);
        String json = Files.readString(manifest);
        Files.delete(copy.resolve("." + Manifest.FILE_NAME + ".crc")); // as on an object store: no checksum file
        Files.writeString(manifest, json.replace("\"rows\" : 200", "\"rows\" : 20"));
        refused("does not match its id", "label", "--transfer", copy.toString(), "--teacher", teacher, "--out",
                dir.resolve("never-1").toString());

        Path crc = copyOf(local(soft), "edited-with-crc");
        Path softManifest = crc.resolve(Manifest.FILE_NAME);
        Files.writeString(softManifest, Files.readString(softManifest).replace("\"temperature\" : 2.0",
                "\"temperature\" : 8.0"));
        refused("it does not match its Hadoop checksum", "train", "--soft-targets", crc.toString(), "--transfer",
                transfer, "--out", dir.resolve("never-2").toString());

        Path garbage = copyOf(local(transfer), "garbage");
        Files.delete(garbage.resolve("." + Manifest.FILE_NAME + ".crc"));
        Files.writeString(garbage.resolve(Manifest.FILE_NAME), "{\"format\": \"distillery.manifest/1\", \"facts\": [");
        refused("corrupt manifest", "label", "--transfer", garbage.toString(), "--teacher", teacher, "--out",
                dir.resolve("never-3").toString(), "--dry-run");
    }

    @Test
    void publishedFilesMissingOrChanged() throws Exception {
        Path missing = copyOf(local(transfer), "missing-part");
        Path part = parts(missing).get(1);
        Files.delete(part);
        Files.deleteIfExists(part.resolveSibling("." + part.getFileName() + ".crc"));
        refused("is incomplete: " + part.getFileName() + ", listed in its manifest, is missing", "label", "--transfer",
                missing.toString(), "--teacher", teacher, "--out", dir.resolve("never-4").toString());

        Path truncated = copyOf(local(transfer), "truncated-part");
        Path first = parts(truncated).get(0);
        byte[] bytes = Files.readAllBytes(first);
        Files.write(first, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        Files.deleteIfExists(first.resolveSibling("." + first.getFileName() + ".crc"));
        refused("was changed: " + first.getFileName() + " has " + bytes.length / 2 + " bytes", "train",
                "--objective", "hard", "--transfer", truncated.toString(), "--out", dir.resolve("never-5").toString());
    }

    /** Part files that disagree on their schema, published as such: refused from the footers, before Spark reads. */
    @Test
    void aSecondPartFileWithAnotherSchema() throws Exception {
        String mixed = dir.resolve("mixed-schema").toString();
        Storage storage = Storage.of(spark());
        try (StagedOutput out = StagedOutput.begin(storage, mixed)) {
            List<Row> good = List.of(RowFactory.create(1L, new float[Fixtures.FEATURES], 0));
            spark().createDataFrame(good, org.distillery.jobs.common.TransferTables.SCHEMA).coalesce(1).write()
                    .mode("append").parquet(out.stagingDir());
            StructType doubles = new StructType().add("id", DataTypes.LongType, false)
                    .add("features", DataTypes.createArrayType(DataTypes.DoubleType, false), false)
                    .add("label", DataTypes.IntegerType, true);
            spark().createDataFrame(List.of(RowFactory.create(2L, new double[Fixtures.FEATURES], 1)), doubles)
                    .coalesce(1).write().mode("append").parquet(out.stagingDir());
            out.publish(Manifest.sealed("ingest", Map.of("fixture", "mixed"), Map.of(), Manifest.facts("rows", 2,
                    TransferSchema.FEATURE_COUNT, Fixtures.FEATURES, TransferSchema.CLASSES, Fixtures.CLASSES),
                    Map.of(), null), 2, System.nanoTime());
        }
        refused("disagree on their schema", "label", "--transfer", mixed, "--teacher", teacher, "--out",
                dir.resolve("never-6").toString());
    }

    /** Rows found bad inside Spark tasks: one line naming the row id, and none of Spark's task-failure traces. */
    @Test
    void badRowsInsideSparkTasks() throws Exception {
        String negative = publishRows("negative-label", 12, -1, Fixtures.FEATURES, 0f);
        String tooHigh = publishRows("label-too-high", 7, Fixtures.CLASSES, Fixtures.FEATURES, 0f);
        String shortRow = publishRows("short-row", 5, 1, Fixtures.FEATURES - 3, 0f);
        String nan = publishRows("nan-feature", 9, 2, Fixtures.FEATURES, Float.NaN);
        child("label -1 out of range [0, 4) for id 1000012", "train", "--objective", "hard", "--transfer", negative,
                "--out", dir.resolve("never-7").toString(), "--arch", "mlp:4", "--epochs", "1");
        child("label 4 out of range [0, 4) for id 1000007", "train", "--objective", "hard", "--transfer", tooHigh,
                "--out", dir.resolve("never-8").toString(), "--arch", "mlp:4", "--epochs", "1");
        child("feature length 13 != 16 for id 1000005", "label", "--transfer", shortRow, "--teacher", teacher,
                "--out", dir.resolve("never-9").toString());
        child("non-finite feature value NaN for id 1000009", "label", "--transfer", nan, "--teacher", teacher,
                "--out", dir.resolve("never-10").toString());
    }

    /** A transfer set of 60 good rows and one bad: row {@code badId} has {@code label}, {@code width} features. */
    private static String publishRows(String name, int badId, int label, int width, float value) {
        List<Row> rows = new ArrayList<>();
        int[] y = Fixtures.labels(60, 7);
        float[][] x = Fixtures.features(60, y, 8);
        for (int i = 0; i < 60; i++) {
            long id = 1_000_000L + i;
            if (i == badId) {
                float[] bad = new float[width];
                java.util.Arrays.fill(bad, value);
                rows.add(RowFactory.create(id, bad, label));
            } else {
                rows.add(RowFactory.create(id, x[i], y[i]));
            }
        }
        return Fixtures.publishTransfer(spark(), dir.resolve(name).toString(), rows, Fixtures.FEATURES);
    }

    /** Runs distill in a child JVM with bin/distill's logging and checks the console shows the one line only. */
    private static void child(String expected, String... args) throws Exception {
        Map<String, String> before = tree(dir);
        Path log = dir.resolve("child-" + args[0] + ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Dorg.") || a.startsWith("-XX:+Ignore")
                        || a.startsWith("-Djdk.reflect")).toList());
        cmd.addAll(List.of("-Xmx2g", "-cp", System.getProperty("java.class.path"),
                "-Dlog4j2.configurationFile=" + Path.of("..", "deploy", "local", "log4j2.properties").toAbsolutePath(),
                "-Ddistill.log.file=" + log, "-Dspark.local.dir=" + dir.resolve("spark-tmp"),
                "org.distillery.jobs.cli.Distill"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().remove("DISTILLERY_TRACE");
        Path stderr = dir.resolve("child.err");
        Process p = pb.redirectErrorStream(false).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile()).start();
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("child finished").isTrue();
        String console = Files.readString(stderr, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(console).isEqualTo(2);
        List<String> lines = console.strip().lines().toList();
        assertThat(lines.get(lines.size() - 1)).as(console).startsWith("distill " + args[0] + ": error: ")
                .contains(expected);
        assertThat(lines).as("no stack trace on the console:\n" + console)
                .noneMatch(l -> l.startsWith("\tat ") || l.startsWith("Caused by") || l.contains("Exception:"));
        assertThat(Files.readString(log)).as("the log file keeps Spark's report of the failed task")
                .contains("Lost task").contains(expected);
        Files.delete(stderr);
        Files.delete(log);
        assertThat(tree(dir)).as("files after %s", List.of(args)).isEqualTo(before);
    }

    /** The local path of a path, qualified ({@code file:}, as the fixtures return them) or not. */
    private static Path local(String path) {
        return path.startsWith("file:") ? Path.of(java.net.URI.create(path)) : Path.of(path);
    }

    private static Path copyOf(Path published, String name) throws IOException {
        Path to = dir.resolve("copies").resolve(name);
        try (Stream<Path> files = Files.walk(published)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(published.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(f, target);
                }
            }
        }
        return to;
    }

    private static List<Path> parts(Path table) throws IOException {
        try (Stream<Path> files = Files.list(table)) {
            return files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList();
        }
    }

    /** Every file under {@code root} (but Spark's scratch space) with the SHA-256 of its bytes. */
    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String rel = root.relativize(f).toString();
                if (!rel.startsWith("spark-tmp") && !rel.startsWith("child")) {
                    out.put(rel, Models.sha256(Files.readAllBytes(f)));
                }
            }
        }
        return out;
    }
}
