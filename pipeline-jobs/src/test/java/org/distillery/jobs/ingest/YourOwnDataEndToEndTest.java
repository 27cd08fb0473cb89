package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README "Your own data", as a data engineer runs it: a CSV table with string class labels and numeric columns
 * (generated here, seeded) -> ingest -> a teacher trained on it -> label -> a distilled student -> evaluate, every
 * step through the real command line; the class names reach every report.
 */
class YourOwnDataEndToEndTest extends SparkTestBase {
    static final List<String> FRUIT = List.of("cherry", "apple", "banana"); // sorted by ingest: apple, banana, cherry
    @TempDir
    Path dir;

    /** 900 rows: order_id, fruit (a few unlabelled), six measurements on different scales, class-dependent. */
    static Path csv(Path file, int rows, long seed) throws IOException {
        Random rng = new Random(seed);
        StringBuilder sb = new StringBuilder("order_id,fruit,weight_g,diameter_mm,sugar,acidity,red,yellow\n");
        for (int i = 0; i < rows; i++) {
            int c = rng.nextInt(3);
            double[] centre = {c == 0 ? 8 : c == 1 ? 180 : 120, c == 0 ? 22 : c == 1 ? 75 : 36, 12 + 2 * c,
                3.3 + 0.4 * c, c == 0 ? 0.9 : c == 1 ? 0.6 : 0.1, c == 2 ? 0.9 : 0.2};
            double[] spread = {3, 25, 3, 0.6, 0.3, 0.3};
            sb.append("ord-").append(1000 + i).append(',').append(i % 25 == 0 ? "" : FRUIT.get(c));
            for (int j = 0; j < 6; j++) {
                sb.append(',').append(String.format(Locale.ROOT, "%.4f", centre[j] + spread[j] * rng.nextGaussian()));
            }
            sb.append('\n');
        }
        Files.writeString(file, sb);
        return file;
    }

    private static CliRun ok(String... args) {
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err()).isZero();
        return r;
    }

    @Test
    void csvWithStringLabelsToAnEvaluatedStudent() throws IOException {
        Path source = csv(dir.resolve("orders.csv"), 900, 11);
        String data = dir.resolve("data").toString();
        ok("ingest", "--format", "csv", "--source", source.toString(), "--option", "header=true",
                "--option", "inferSchema=true", "--id", "order_id", "--label", "fruit", "--features",
                "weight_g,diameter_mm,sugar,acidity,red,yellow",
                "--split", "validation=0.15,test=0.2", "--standardize", "--out", data);
        String engine = "--epochs=25 --patience=6 --batch-size=32 --averaging-frequency=5";
        ok(args("train --objective hard --arch mlp:32 --transfer " + data + "/train --validation " + data
                + "/validation " + engine + " --out " + dir.resolve("teacher")));
        ok("label", "--transfer", data + "/train", "--teacher", dir.resolve("teacher").toString(), "-T", "2",
                "--out", dir.resolve("soft").toString());
        ok(args("train --objective kd --arch mlp:8 --soft-targets " + dir.resolve("soft") + " --validation " + data
                + "/validation " + engine + " --out " + dir.resolve("student")));
        CliRun eval = ok("evaluate", "--test", data + "/test", "--teacher", dir.resolve("teacher").toString(),
                "--model", "student=" + dir.resolve("student"), "--validation", data + "/validation",
                "--out", dir.resolve("evaluation").toString());

        ObjectMapper json = new ObjectMapper();
        List<String> names = List.of("apple", "banana", "cherry");
        JsonNode report = json.readTree(dir.resolve("evaluation/report.json").toFile());
        assertThat(strings(report.get("class_names"))).isEqualTo(names);
        JsonNode student = report.get("models").get("student");
        assertThat(student.get("accuracy").asDouble()).isGreaterThan(0.8); // chance: 1/3
        List<String> perClass = new ArrayList<>();
        student.get("per_class").forEach(e -> perClass.add(e.get("class").asText()));
        assertThat(perClass).isEqualTo(names);
        assertThat(eval.out()).contains("banana");
        JsonNode quality = json.readTree(dir.resolve("soft/_quality.json").toFile());
        assertThat(strings(quality.get("classNames"))).isEqualTo(names);
        JsonNode labelManifest = json.readTree(dir.resolve("soft/_manifest.json").toFile());
        assertThat(strings(labelManifest.get("facts").get("classNames"))).isEqualTo(names);
        JsonNode studentManifest = json.readTree(dir.resolve("student/_manifest.json").toFile());
        assertThat(studentManifest.get("facts").get("preprocessing").get("standardize").get("mean")).hasSize(6);

        // relabel with another temperature: the drift report names the classes too
        ok("label", "--transfer", data + "/train", "--teacher", dir.resolve("teacher").toString(), "-T", "4",
                "--mode", "overwrite", "--out", dir.resolve("soft").toString());
        JsonNode drift = json.readTree(dir.resolve("soft/_drift.json").toFile());
        assertThat(strings(drift.get("classNames"))).isEqualTo(names);
    }

    private static String[] args(String line) {
        return line.split(" ");
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
