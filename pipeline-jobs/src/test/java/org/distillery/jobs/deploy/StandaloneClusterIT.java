package org.distillery.jobs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.ModelArtifact;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.label.LabelConfig;
import org.distillery.jobs.label.LabelJob;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real multi-JVM run: a Spark standalone master and two workers (one core each) on 127.0.0.1, started from the
 * Spark jars Maven already has (a throwaway SPARK_HOME whose jars/ links to them), then the train job submitted with
 * the shaded jar through SparkSubmit. Parameter averaging runs in two executor JVMs; every process started here is
 * stopped here.
 */
class StandaloneClusterIT extends SparkTestBase {
    @TempDir
    Path dir;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly); // executors launched by the workers
            p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void trainsAcrossTwoWorkerJvms() throws Exception {
        String transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 600, 91, 0);
        String validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 100, 92, 10_000);
        String teacher = Fixtures.saveZip(spark(), Fixtures.teacher(6, 30), dir.resolve("teacher.zip").toString());
        String soft = new LabelJob(spark()).run(LabelConfig.builder(transfer, dir.resolve("soft").toString())
                .teacher(teacher).temperature(2.0).batchSize(256).build()).path();

        Path sparkHome = fakeSparkHome();
        int port = freePort();
        String master = "spark://127.0.0.1:" + port;
        start("master", List.of("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                String.valueOf(port), "--webui-port", String.valueOf(freePort())), sparkHome);
        for (int w = 1; w <= 2; w++) {
            Path work = Files.createDirectories(dir.resolve("worker-" + w));
            start("worker-" + w, List.of("org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores",
                    "1", "--memory", "2g", "--webui-port", String.valueOf(freePort()), "--work-dir", work.toString(),
                    master), sparkHome);
        }
        waitForLog(dir.resolve("worker-1.log"), "Successfully registered with master", started.get(1));
        waitForLog(dir.resolve("worker-2.log"), "Successfully registered with master", started.get(2));

        String out = dir.resolve("student").toString();
        DeployIT.Proc train = submit(sparkHome, master, soft, validation, out, "exchange");
        assertThat(train.code()).as(train.output() + executorLogs()).isZero();
        assertThat(train.output()).contains("{\"job\":\"train\"")
                .as("the executor JVMs averaged through the driver's exchange")
                .contains("through the driver's averaging exchange").doesNotContain("averaging exchange failed")
                .as("both epochs in one Spark job, each ordered over TCP").contains("2 epochs in 1 Spark job(s)");

        // each executor JVM chose its OpenBLAS kernel as it started (BlasKernelPlugin), before ND4J loaded
        assertThat(executorLogs(Integer.MAX_VALUE)).contains("blas: executor 0: OPENBLAS_CORETYPE=")
                .contains("blas: executor 1: OPENBLAS_CORETYPE=").contains("spark.distillery.blas.kernel=auto");
        assertThat(train.output()).contains("blas: OpenBLAS kernel ");

        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.text("trainer")).contains("workers=2");
        assertThat(Files.size(Path.of(out, "model.zip"))).isPositive();
        // each worker ran one executor JVM for the application
        for (int w = 1; w <= 2; w++) {
            try (Stream<Path> apps = Files.list(dir.resolve("worker-" + w))) {
                assertThat(apps.filter(p -> p.getFileName().toString().startsWith("app-")).toList())
                        .as("worker " + w + " executors").hasSize(1);
            }
        }

        // one Spark job per round, the executors' results through Spark's scheduler: the same student
        String jobsOut = dir.resolve("student-jobs").toString();
        DeployIT.Proc jobs = submit(sparkHome, master, soft, validation, jobsOut, "jobs");
        assertThat(jobs.code()).as(jobs.output() + executorLogs()).isZero();
        assertThat(jobs.output()).doesNotContain("through the driver's averaging exchange");
        assertThat(ModelArtifact.read(Storage.of(spark()), jobsOut).network().params())
                .isEqualTo(ModelArtifact.read(Storage.of(spark()), out).network().params());
    }

    private DeployIT.Proc submit(Path sparkHome, String master, String soft, String validation, String out,
                                 String rounds) throws Exception {
        List<String> submit = new ArrayList<>(List.of(DeployIT.javaBin()));
        submit.addAll(DeployIT.jvmOpens());
        submit.addAll(List.of("-Xmx1g", "-cp", sparkHome.resolve("jars") + File.separator + "*",
                "org.apache.spark.deploy.SparkSubmit",
                "--master", master, "--deploy-mode", "client", "--class", "org.distillery.jobs.cli.Distill",
                "--total-executor-cores", "2", "--executor-cores", "1", "--executor-memory", "1g",
                "--conf", "spark.executor.extraJavaOptions=" + String.join(" ", DeployIT.jvmOpens()),
                "--conf", "spark.executorEnv.OMP_NUM_THREADS=1", "--conf", "spark.driver.host=127.0.0.1",
                "--conf", "spark.driver.bindAddress=127.0.0.1", "--conf", "spark.ui.enabled=false",
                DeployIT.shadedJar().toString(),
                "train", "--soft-targets", soft, "--validation", validation, "--out", out, "--arch", "mlp:8",
                "--epochs", "2", "--batch-size", "16", "--averaging-frequency", "3", "--workers", "2",
                "--rounds", rounds));
        return DeployIT.Proc.run(submit, Map.of("SPARK_LOCAL_IP", "127.0.0.1", "SPARK_HOME", sparkHome.toString()),
                dir.resolve("submit-" + rounds + ".log"));
    }

    private void start(String name, List<String> mainAndArgs, Path sparkHome) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(DeployIT.javaBin()));
        cmd.addAll(DeployIT.jvmOpens());
        cmd.addAll(List.of("-Xmx512m", "-cp", sparkHome.resolve("jars") + File.separator + "*"));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().putAll(Map.of("SPARK_HOME", sparkHome.toString(), "SPARK_LOCAL_IP", "127.0.0.1",
                "JAVA_HOME", System.getProperty("java.home"), "OMP_NUM_THREADS", "1",
                "SPARK_SCALA_VERSION", "2.12")); // a distribution has no build dirs to guess it from
        started.add(pb.start());
    }

    /** A SPARK_HOME whose jars/ links to the jars Maven resolved for Spark: what executors are launched with. */
    private Path fakeSparkHome() throws Exception {
        Path jars = Files.createDirectories(dir.resolve("spark-home/jars"));
        List<String> all = new ArrayList<>(List.of(DeployIT.providedClasspath().split(File.pathSeparator)));
        // libraries a Spark distribution ships in jars/ (logging, commons-*) are compile scope here, so they are taken
        // from the runtime classpath; the application's own (DL4J, ND4J, model-lib) come with the shaded jar
        for (String jar : Files.readString(Path.of(System.getProperty("distillery.runtimeClasspath"))).strip()
                .split(File.pathSeparator)) {
            if (!jar.matches(".*/(org/deeplearning4j|org/nd4j|org/datavec|org/bytedeco|org/distillery|model-lib)/.*")) {
                all.add(jar);
            }
        }
        for (String jar : all) {
            Path p = Path.of(jar);
            Path link = jars.resolve(p.getFileName());
            if (!Files.exists(link)) {
                Files.createSymbolicLink(link, p);
            }
        }
        return dir.resolve("spark-home");
    }

    /** The executors' stderr, for failure messages. */
    private String executorLogs() throws Exception {
        return executorLogs(3000);
    }

    /** The last {@code chars} characters of each executor's stderr. */
    private String executorLogs(int chars) throws Exception {
        StringBuilder b = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().equals("stderr")).toList()) {
                String text = Files.readString(f);
                b.append("\n--- ").append(f).append('\n')
                        .append(text, Math.max(0, text.length() - chars), text.length());
            }
        }
        return b.toString();
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void waitForLog(Path log, String text, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (Files.exists(log) && Files.readString(log).contains(text)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no '" + text + "' in " + log + ":\n" + (Files.exists(log) ? Files.readString(log) : ""));
    }
}
