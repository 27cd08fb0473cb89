package org.distillery.jobs.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.common.StagedOutput;
import org.distillery.jobs.common.Storage;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assumptions.abort;

/**
 * Students to export, made in code: {@link Fixtures}' 16-feature blobs for MLPs, and 16 x 16 single-channel images
 * (a per-class pattern plus noise, in [0, 1]) for CNNs, trained a few passes so that their classes have margins; a
 * student published as a train output chained to its transfer set; and Python's ONNX Runtime on an exported file.
 */
final class ExportFixtures {
    static final int SIDE = 16;
    private static final boolean CI = "true".equals(System.getenv("CI"));
    private static final Path CHECK = Path.of("src/test/python/check_onnx.py").toAbsolutePath();

    private ExportFixtures() {
    }

    /** Rows of width {@code width}: 16 features (MLP blobs) or 256 (16 x 16 images). */
    static float[][] features(int n, int[] labels, long seed, int width) {
        if (width == Fixtures.FEATURES) {
            return Fixtures.features(n, labels, seed);
        }
        Random proto = new Random(99);
        float[][] p = new float[Fixtures.CLASSES][width];
        for (float[] row : p) {
            for (int j = 0; j < width; j++) {
                row[j] = proto.nextFloat() < 0.3 ? 0.8f : 0.1f;
            }
        }
        Random rng = new Random(seed);
        float[][] x = new float[n][width];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < width; j++) {
                x[i][j] = Math.min(1f, Math.max(0f, p[labels[i]][j] + 0.2f * (float) rng.nextGaussian()));
            }
        }
        return x;
    }

    /** A transfer set of {@code n} rows of width {@code width}; images record exampleShape [1, 16, 16]. */
    static String transfer(SparkSession spark, String path, int n, long seed, int width) {
        int[] y = Fixtures.labels(n, seed);
        float[][] x = features(n, y, seed + 1, width);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(RowFactory.create((long) i, x[i], y[i]));
        }
        Map<String, Object> facts = width == Fixtures.FEATURES ? Map.of(TransferSchema.PREPROCESSING, "fixture blobs")
                : Map.of(TransferSchema.SHAPE, List.of(1, SIDE, SIDE), TransferSchema.PREPROCESSING, "fixture images");
        return Fixtures.publishTransfer(spark, path, rows, width, facts);
    }

    /** A student of {@code arch} fitted for {@code epochs} passes on 256 rows of its input width. */
    static MultiLayerNetwork student(String arch, int width, int epochs) {
        MultiLayerNetwork net = Architecture.parse(arch, 0).build(width, Fixtures.CLASSES,
                DistillationLoss.hardLabelsOnly(), 0.01, 5);
        int n = 256;
        int[] y = Fixtures.labels(n, 5);
        float[][] x = features(n, y, 6, width);
        float[] targets = new float[n * 2 * Fixtures.CLASSES];
        for (int i = 0; i < n; i++) {
            targets[i * 2 * Fixtures.CLASSES + Fixtures.CLASSES + y[i]] = 1f;
        }
        DataSet ds = new DataSet(Nd4j.create(x).castTo(DataType.FLOAT),
                Nd4j.create(targets, new long[] {n, 2 * Fixtures.CLASSES}, DataType.FLOAT));
        for (int e = 0; e < epochs; e++) {
            net.fit(ds);
        }
        return net;
    }

    /** {@code net} published at {@code path} as a train output would be: model.zip and a manifest chaining to
     * {@code transfer}. */
    static String publishModel(Storage storage, MultiLayerNetwork net, String path, String transfer, String arch) {
        try (StagedOutput out = StagedOutput.begin(storage, path)) {
            storage.writeBytes(out.path("model.zip"), Models.toBytes(net, false));
            Manifest m = Manifest.sealed("train", Map.of("fixture", path),
                    Map.of("transfer", new Manifest.Input(storage.qualify(transfer),
                            storage.publishedManifest(transfer).id())),
                    Manifest.facts("objective", "hard", "temperature", 1.0, "alpha", 0.0, "architecture", arch),
                    Map.of(), null);
            return out.publish(m, 0, System.nanoTime()).path();
        }
    }

    static INDArray matrix(float[][] x) {
        return Nd4j.create(x).castTo(DataType.FLOAT);
    }

    /**
     * check_onnx.py's JSON on {@code model} with {@code rows} and DL4J's {@code logits}; skipped without python3,
     * onnx and onnxruntime, except in CI.
     */
    static JsonNode python(Path model, float[][] rows, float[][] logits, Path dir) throws IOException,
            InterruptedException {
        Path x = write(dir.resolve(model.getFileName() + ".rows.f32"), rows);
        Path z = write(dir.resolve(model.getFileName() + ".logits.f32"), logits);
        Process p;
        try {
            p = new ProcessBuilder("python3", CHECK.toString(), model.toString(), x.toString(), z.toString())
                    .redirectError(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException noPython) {
            if (CI) {
                throw new AssertionError("CI needs python3 with pipeline-jobs/src/test/python/requirements.txt");
            }
            abort("python3 is not installed");
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        if (code == 3 && !CI) {
            abort("onnx and onnxruntime are needed: " + err.strip());
        }
        if (code != 0) {
            throw new AssertionError("check_onnx.py exited with " + code + ": " + err.strip());
        }
        return new ObjectMapper().readTree(out);
    }

    private static Path write(Path file, float[][] m) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * m.length * m[0].length).order(ByteOrder.LITTLE_ENDIAN);
        for (float[] row : m) {
            for (float v : row) {
                b.putFloat(v);
            }
        }
        Files.write(file, b.array());
        return file;
    }
}
