package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.TeacherFiles;
import org.distillery.jobs.cli.CliRun;
import org.distillery.jobs.common.TransferTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README "Your own data", images: a Parquet table of PNG bytes with string class labels (made here from the first
 * Fashion-MNIST training images) -> ingest -> labelled by a CNN that PyTorch trained on the same images and exported to
 * ONNX with its defaults (external weights, symbolic batch) -> a distilled student -> evaluate against that teacher,
 * every step through the real command line. The teacher's logits on the ingested rows equal PyTorch's own within 1e-4.
 */
class ImagesWithAPyTorchTeacherEndToEndTest extends SparkTestBase {
    private static final Path FASHION = Path.of("/usr/share/datasets/fashion-mnist");
    private static final int ROWS = 1500;
    private static final double TOLERANCE = 1e-4;
    @TempDir
    Path dir;

    private static CliRun ok(String... args) {
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as(String.join(" ", args) + "\n" + r.err()).isZero();
        return r;
    }

    /** The first {@link #ROWS} training images as a Parquet table: id, label (the class name), png (bytes). */
    private String pngTable() throws IOException {
        IdxSource.Loaded train = IdxSource.load(FASHION.toString(), IdxSource.TRAIN);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < ROWS; i++) {
            BufferedImage img = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
            img.getRaster().setDataElements(0, 0, 28, 28, train.images()[i]);
            ByteArrayOutputStream png = new ByteArrayOutputStream();
            assertThat(ImageIO.write(img, "png", png)).isTrue();
            rows.add(RowFactory.create((long) i, IdxSource.CLASS_NAMES.get(train.labels()[i]), png.toByteArray()));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("label", DataTypes.StringType)
                .add("png", DataTypes.BinaryType);
        String path = dir.resolve("lake/fashion_png").toString();
        spark().createDataFrame(rows, schema).repartition(3).write().parquet(path);
        return path;
    }

    @Test
    @SuppressWarnings("unchecked")
    void pngTableLabelledByAPyTorchOnnxCnnToAnEvaluatedStudent() throws Exception {
        if (!Files.exists(FASHION.resolve("train-images-idx3-ubyte.gz"))) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("CI needs Debian's dataset-fashion-mnist in " + FASHION);
            }
            abort("Fashion-MNIST is not installed in " + FASHION + " (Debian package dataset-fashion-mnist)");
        }
        String source = pngTable();
        Path fw = TeacherFiles.fashionCnn(FASHION, ROWS, dir.resolve("pytorch"));
        String teacher = fw.resolve("fashion_cnn.onnx").toString();
        Map<String, Object> expected = new ObjectMapper().readValue(fw.resolve("expected.json").toFile(), Map.class);
        List<List<Number>> torchLogits = (List<List<Number>>) expected.get("logits");

        String data = dir.resolve("data").toString();
        ok("ingest", "--format", "parquet", "--source", source, "--id", "id", "--label", "label",
                "--classes", String.join(",", IdxSource.CLASS_NAMES), "--features", "png", "--shape", "1x28x28",
                "--scale", "1/255", "--split", "validation=0.1,test=0.2", "--out", data);
        String soft = dir.resolve("soft").toString();
        ok("label", "--transfer", data + "/train", "--teacher", teacher, "-T", "2", "--out", soft);
        Map<Long, float[]> ours = new HashMap<>();
        for (Row r : spark().read().parquet(soft).select("id", "logits").collectAsList()) {
            ours.put(r.getLong(0), TransferTables.floats(r, 1));
        }
        assertThat(ours).hasSizeBetween(ROWS / 2, ROWS);
        double maxDiff = 0;
        for (Map.Entry<Long, float[]> e : ours.entrySet()) {
            List<Number> theirs = torchLogits.get((int) (long) e.getKey());
            for (int c = 0; c < 10; c++) {
                maxDiff = Math.max(maxDiff, Math.abs(e.getValue()[c] - theirs.get(c).doubleValue()));
            }
        }
        System.out.printf("PNG rows labelled by the PyTorch ONNX CNN: max |logit - PyTorch's| = %.2e%n", maxDiff);
        assertThat(maxDiff).isLessThanOrEqualTo(TOLERANCE);

        String student = dir.resolve("student").toString();
        ok("train", "--objective", "kd", "--arch", "mlp:32", "--soft-targets", soft, "--validation",
                data + "/validation", "--epochs", "4", "--batch-size", "32", "--out", student);
        String eval = dir.resolve("evaluation").toString();
        CliRun run = ok("evaluate", "--test", data + "/test", "--model", "student=" + student, "--out", eval,
                "--latency-runs", "5");
        assertThat(run.out()).contains("Ankle boot");

        JsonNode report = new ObjectMapper().readTree(dir.resolve("evaluation/report.json").toFile());
        JsonNode t = report.get("models").get("teacher");
        assertThat(t.get("format").asText()).isEqualTo("ONNX");
        // the teacher's test accuracy as PyTorch's logits give it on the same rows
        List<Long> testIds = new ArrayList<>();
        spark().read().parquet(data + "/test").select("id").collectAsList().forEach(r -> testIds.add(r.getLong(0)));
        IdxSource.Loaded train = IdxSource.load(FASHION.toString(), IdxSource.TRAIN);
        long right = testIds.stream().filter(id -> argmax(torchLogits.get((int) (long) id))
                == train.labels()[(int) (long) id]).count();
        assertThat(t.get("accuracy").asDouble()).isCloseTo((double) right / testIds.size(),
                org.assertj.core.api.Assertions.within(1.0 / testIds.size()));
        JsonNode s = report.get("models").get("student");
        assertThat(s.get("accuracy").asDouble()).isGreaterThan(0.5); // chance: 0.1
        assertThat(s.get("agreement_with_teacher").asDouble()).isGreaterThan(0.5);
        List<String> classes = new ArrayList<>();
        report.get("class_names").forEach(n -> classes.add(n.asText()));
        assertThat(classes).isEqualTo(IdxSource.CLASS_NAMES);
    }

    private static int argmax(List<Number> z) {
        int best = 0;
        for (int c = 1; c < z.size(); c++) {
            if (z.get(c).doubleValue() > z.get(best).doubleValue()) {
                best = c;
            }
        }
        return best;
    }
}
