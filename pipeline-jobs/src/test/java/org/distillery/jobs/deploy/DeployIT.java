package org.distillery.jobs.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The deploy artefacts against the shaded jar, after {@code package}: every class a script, manifest or DAG names is
 * in the jar; the Kubernetes manifests are well-formed and their arguments parse under the real CLI; and the
 * spark-submit scripts run the whole pipeline through Spark's real {@code SparkSubmit} (from the jars Maven has) in
 * local mode.
 */
class DeployIT extends SparkTestBase {
    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    static final Path DEPLOY = REPO.resolve("deploy");
    @TempDir
    Path dir;

    static Path shadedJar() {
        Path jar = Path.of(System.getProperty("distillery.shadedJar"));
        assertThat(jar).exists();
        return jar;
    }

    @Test
    void everyNamedClassIsInTheShadedJarWithAMain() throws Exception {
        Map<Pattern, String> patterns = Map.of(
                Pattern.compile("--class\\s+([\\w.$]+)"), "sh",
                Pattern.compile("mainClass:\\s*\"?([\\w.$]+)"), "yaml",
                Pattern.compile("JAVA_CLASS\\s*=\\s*\"([\\w.$]+)\""), "py");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(DEPLOY); ZipFile jar = new ZipFile(shadedJar().toFile())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String ext = f.getFileName().toString().replaceAll(".*\\.", "");
                for (Map.Entry<Pattern, String> p : patterns.entrySet()) {
                    if (!p.getValue().equals(ext)) {
                        continue;
                    }
                    Matcher m = p.getKey().matcher(Files.readString(f));
                    while (m.find()) {
                        String cls = m.group(1);
                        found.add(REPO.relativize(f) + " -> " + cls);
                        assertThat(jar.getEntry(cls.replace('.', '/') + ".class")).as(f + " names " + cls).isNotNull();
                        assertThat(Class.forName(cls).getMethod("main", String[].class)).as(cls).isNotNull();
                    }
                }
            }
        }
        assertThat(found).as("class references found").anyMatch(s -> s.startsWith("deploy/spark-submit/common.sh"))
                .anyMatch(s -> s.startsWith("deploy/k8s/train.yaml"))
                .anyMatch(s -> s.startsWith("deploy/airflow/distillery_common.py"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void kubernetesManifestsAreWellFormedAndTheirArgumentsParse() throws Exception {
        List<Path> manifests;
        try (Stream<Path> files = Files.list(DEPLOY.resolve("k8s"))) {
            manifests = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(manifests).hasSizeGreaterThanOrEqualTo(3);
        for (Path f : manifests) {
            Map<String, Object> app = new Yaml().load(Files.readString(f));
            assertThat(app.get("apiVersion")).as(f.toString()).isEqualTo("sparkoperator.k8s.io/v1beta2");
            assertThat(app.get("kind")).isEqualTo("SparkApplication");
            Map<String, Object> spec = (Map<String, Object>) app.get("spec");
            assertThat(spec.get("mainClass")).isEqualTo(org.distillery.jobs.cli.Distill.class.getName());
            List<String> args = ((List<Object>) spec.get("arguments")).stream().map(String::valueOf).toList();
            assertThat(org.distillery.jobs.cli.Distill.parses(args.toArray(String[]::new))).as(f + ": " + args)
                    .isNull();
        }
    }

    @Test
    void sparkSubmitScriptsRunThePipeline() throws Exception {
        Path root = dir.resolve("lake");
        String ds = "2026-11-24";
        rawDay(root.resolve("raw/orders/dt=" + ds).toString(), 300, 81); // ingested by pipeline.sh
        Fixtures.transferSet(spark(), root.resolve("reference/validation").toString(), 100, 82, 10_000);
        Fixtures.transferSet(spark(), root.resolve("reference/test").toString(), 100, 83, 20_000);
        Fixtures.saveZip(spark(), Fixtures.teacher(4, 30), root.resolve("models/teacher.zip").toString());
        Path conf = dir.resolve("pipeline.conf");
        Files.writeString(conf, "train { arch = \"mlp:8\", epochs = 2, batch-size = 16, averaging-frequency = 3 }\n"
                + "evaluate { latency-runs = 3 }\n");

        Map<String, String> env = new java.util.HashMap<>(submitEnv());
        env.put("ROOT", root.toString());
        env.put("DS", ds);
        env.put("TEACHER", root.resolve("models/teacher.zip").toString());
        env.put("DISTILLERY_CONFIG", conf.toString());
        env.put("INGEST_SOURCE", root.resolve("raw/orders/dt=<ds>").toString());
        env.put("INGEST_FORMAT", "parquet");
        env.put("INGEST_ID", "order_id");
        env.put("INGEST_LABEL", "y");
        env.put("INGEST_CLASSES", "a,b,c,d");
        // the day's transfer set does not exist before pipeline.sh ingests it: the dry run plans on a published set
        Proc dry = Proc.run(List.of("bash", DEPLOY.resolve("spark-submit/label.sh").toString()), withAll(env, Map.of(
                "TRANSFER", root.resolve("reference/validation").toString(), "TEACHER", env.get("TEACHER"),
                "OUT", root.resolve("soft-targets/dt=" + ds).toString(), "DRY_RUN", "1")), dir.resolve("dry.log"));
        assertThat(dry.code()).as(dry.output()).isZero();
        assertThat(dry.output()).contains("\"dryRun\":true");
        assertThat(root.resolve("soft-targets")).doesNotExist();

        Proc pipeline = Proc.run(List.of("bash", DEPLOY.resolve("spark-submit/pipeline.sh").toString()), env,
                dir.resolve("pipeline.log"));
        assertThat(pipeline.code()).as(pipeline.output()).isZero();
        Storage storage = Storage.of(spark());
        assertThat(storage.publishedManifest(root.resolve("evaluations/dt=" + ds).toString()).inputs())
                .containsKeys("student", "baseline");
        assertThat(pipeline.output()).contains("{\"job\":\"evaluate\"").contains("{\"job\":\"export\"");
        assertThat(storage.exists(root.resolve("exports/dt=" + ds + "/kd/model-int8.onnx").toString())).isTrue();
        Manifest transfer = storage.publishedManifest(root.resolve("transfer/dt=" + ds).toString());
        assertThat(transfer.job()).isEqualTo("ingest");
        assertThat(transfer.number("rows")).isEqualTo(300);
    }

    /** A day of a raw table as Parquet: order_id, y, features (an array column), the rows of a fixture set. */
    private static void rawDay(String path, int n, long seed) {
        int[] y = Fixtures.labels(n, seed);
        float[][] x = Fixtures.features(n, y, seed + 1);
        List<org.apache.spark.sql.Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(org.apache.spark.sql.RowFactory.create((long) i, y[i], x[i]));
        }
        org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
                .add("order_id", org.apache.spark.sql.types.DataTypes.LongType)
                .add("y", org.apache.spark.sql.types.DataTypes.IntegerType)
                .add("features", org.apache.spark.sql.types.DataTypes.createArrayType(
                        org.apache.spark.sql.types.DataTypes.FloatType));
        spark().createDataFrame(rows, schema).write().parquet(path);
    }

    private static Map<String, String> withAll(Map<String, String> a, Map<String, String> b) {
        Map<String, String> m = new java.util.HashMap<>(a);
        m.putAll(b);
        return m;
    }

    /** Environment for the scripts: the shaded jar, local mode, and Spark's real SparkSubmit as spark-submit. */
    Map<String, String> submitEnv() throws Exception {
        Path submit = dir.resolve("spark-submit");
        Files.writeString(submit, "#!/bin/sh\nexec \"" + javaBin() + "\" " + String.join(" ", jvmOpens())
                + " -Xmx2g -cp \"" + System.getProperty("distillery.shadedJar") + File.pathSeparator
                + providedClasspath() + "\" org.apache.spark.deploy.SparkSubmit \"$@\"\n");
        assertThat(submit.toFile().setExecutable(true)).isTrue();
        return Map.of("SPARK_SUBMIT", submit.toString(), "DISTILLERY_JAR", shadedJar().toString(),
                "DISTILLERY_ENV", "local", "DISTILLERY_EXECUTORS", "cpu", "SPARK_LOCAL_IP", "127.0.0.1");
    }

    static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static String providedClasspath() throws Exception {
        return Files.readString(Path.of(System.getProperty("distillery.providedClasspath"))).strip();
    }

    /** The --add-opens flags this JVM runs with (Spark and ND4J need them on Java 17). */
    static List<String> jvmOpens() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-exports")).toList();
    }

    /** A finished child process: exit code and combined output. */
    record Proc(int code, String output) {
        static Proc run(List<String> cmd, Map<String, String> env, Path log) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.MINUTES)) {
                p.destroyForcibly().waitFor();
            }
            return new Proc(p.exitValue(), Files.readString(log));
        }
    }
}
