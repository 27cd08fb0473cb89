package org.distillery.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Checkpoints and --resume: a training process killed mid-run (a separate JVM, SIGKILL) and resumed ends with exactly
 * the parameters of an uninterrupted run (two workers, dropout 0.3: the maths and the masks are deterministic).
 */
class CheckpointResumeTest extends SparkTestBase {
    private static final int EPOCHS = 8;
    @TempDir
    static Path dir;
    static String soft;
    static String validation;

    @BeforeAll
    static void fixtures() {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 2000, 41, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 200, 42, 100_000);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(3, 30), dir.resolve("teacher.zip").toString());
        soft = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("soft").toString()).teacher(teacher)
                .temperature(2.0).batchSize(256).build())
                .path();
    }

    private static List<String> args(String name) {
        return new ArrayList<>(List.of("train", "--soft-targets", soft, "--validation", validation,
                "--out", dir.resolve(name).toString(), "--checkpoint-dir", dir.resolve(name + "-ckpt").toString(),
                "--resume", "--epochs", String.valueOf(EPOCHS), "--patience", String.valueOf(EPOCHS), "--arch", "mlp:16",
                "--batch-size", "16", "--averaging-frequency", "4", "--workers", "2", "--learning-rate", "0.01",
                "--lr-schedule", "step:3:0.5", "--labelled", "100", "--dropout", "0.3", "--local-master", "local[2]"));
    }

    private static INDArray params(String name) {
        return ModelArtifact.read(Storage.of(spark()), dir.resolve(name).toString()).network().params();
    }

    @Test
    void killedRunResumesToTheSameParameters() throws Exception {
        CliRun straight = CliRun.of(args("straight"));
        assertThat(straight.code()).as(straight.err()).isZero();

        Path trial;
        try (var runs = Files.list(dir.resolve("straight-ckpt"))) { // the same run hashes to the same subdirectory
            trial = dir.resolve("killed-ckpt").resolve(runs.findFirst().orElseThrow().getFileName())
                    .resolve(Checkpoints.trialName(2.0, 1.0));
        }
        Process child = childJvm(args("killed"), dir.resolve("child.log"));
        try {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (!Files.exists(trial.resolve("epoch-0002").resolve("_SUCCESS")) && System.nanoTime() < deadline
                    && child.isAlive()) {
                Thread.sleep(20);
            }
            assertThat(child.isAlive()).as("child still training at epoch 2: " + Files.readString(dir.resolve("child.log")))
                    .isTrue();
        } finally {
            child.destroyForcibly().waitFor();
        }
        assertThat(dir.resolve("killed")).doesNotExist();
        try (var epochs = Files.list(trial)) {
            assertThat(epochs.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("epoch-")).sorted().toList())
                    .isNotEmpty().allMatch(n -> n.compareTo(String.format("epoch-%04d", EPOCHS)) < 0);
        }

        CliRun resumed = CliRun.of(args("killed"));
        assertThat(resumed.code()).as(resumed.err()).isZero();
        assertThat(params("killed")).isEqualTo(params("straight"));
        // the scores of the epochs run before the kill are kept
        assertThat(Files.readAllLines(dir.resolve("killed").resolve(TrainJob.SCORES)))
                .hasSameSizeAs(Files.readAllLines(dir.resolve("straight").resolve(TrainJob.SCORES)));

        // a finished trial is not retrained; a different config starts fresh in its own run directory
        CliRun again = CliRun.of(args("killed").stream().map(a -> a.equals(dir.resolve("killed").toString())
                ? dir.resolve("killed-again").toString() : a).toList());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(params("killed-again")).isEqualTo(params("straight"));
        List<String> other = args("killed");
        other.set(other.indexOf("--out") + 1, dir.resolve("other").toString());
        other.set(other.indexOf("--arch") + 1, "mlp:12");
        CliRun other12 = CliRun.of(other);
        assertThat(other12.code()).as(other12.err()).isZero();
        try (var runs = Files.list(dir.resolve("killed-ckpt"))) {
            assertThat(runs.count()).isEqualTo(2);
        }
        List<String> noResume = args("fresh");
        noResume.set(noResume.indexOf("--checkpoint-dir") + 1, dir.resolve("killed-ckpt").toString());
        noResume.remove("--resume");
        CliRun refused = CliRun.of(noResume);
        assertThat(refused.err()).contains("checkpoint directory already holds checkpoints (pass --resume");
    }

    /** {@code distill ARGS} in a new JVM with this test JVM's classpath and JVM flags (heap reduced). */
    private static Process childJvm(List<String> args, Path log) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-Xmx") && !a.startsWith("-agentlib") && !a.startsWith("-javaagent")) {
                cmd.add(a);
            }
        }
        cmd.add("-Xmx1g");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.distillery.jobs.cli.Distill");
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }

    static String classpathOf(File f) {
        return f.getAbsolutePath();
    }
}
