package org.distillery.jobs.export;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.DistillationLoss;
import org.distillery.model.nn.Architecture;
import org.distillery.model.nn.LogitModel;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Benchmark, not a test (docs/scripts/bench-export.sh runs it): an exported student in ONNX Runtime, fp32 and int8,
 * against DL4J on the same weights, in one JVM. For each architecture (random init, seed 42, 784 inputs, 10 classes;
 * int8 calibrated on 1,000 synthetic pixel rows): latency of one row (median of CALLS single-row calls) and rows/s on
 * batches of 1024 (BATCHES batches), for each engine, the engines alternated in every run and each figure the median
 * of RUNS runs; and bytes on disk of each file (DL4J zip without updater, model.onnx, model-int8.onnx). Engines:
 * DL4J {@code output()}, distillery's {@link LogitModel} when it takes the fast dense path (MLPs),
 * ONNX Runtime through distillery's ONNX reader (INDArray in and out, OMP_NUM_THREADS intra-op threads, as ND4J
 * uses OMP_NUM_THREADS OpenMP threads), and ONNX Runtime's {@code session.run} alone on tensors made beforehand. Prints one JSON line per architecture and engine. Usage:
 * <pre>
 *   ExportBench OUT_DIR RUNS CALLS BATCHES ARCH...     e.g. ExportBench /tmp/x 7 300 20 mlp:64 cnn:20,50:500
 * </pre>
 */
final class ExportBench {
    private static final int FEATURES = 784;
    private static final int CLASSES = 10;
    private static final int BATCH = 1024;

    private ExportBench() {
    }

    /** One way of computing logits, with the bytes of the file it reads. */
    private record Engine(String name, String file, long bytes, Function<INDArray, INDArray> logits) {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int runs = Integer.parseInt(args[1]);
        int calls = Integer.parseInt(args[2]);
        int batches = Integer.parseInt(args[3]);
        Files.createDirectories(out);
        for (String arch : Arrays.copyOfRange(args, 4, args.length)) {
            bench(out, arch, runs, calls, batches);
        }
    }

    private static void bench(Path out, String arch, int runs, int calls, int batches) throws Exception {
        MultiLayerNetwork net = Architecture.parse(arch, 0).build(FEATURES, CLASSES,
                DistillationLoss.hardLabelsOnly(), 1e-3, 42);
        INDArray calibration = pixels(1000, 1);
        NetworkPlan plan = NetworkPlan.of(net);
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("model.zip", Models.toBytes(net, false));
        files.put("model.onnx", OnnxExport.fp32(plan, "bench", Map.of()));
        files.put("model-int8.onnx", OnnxExport.int8(plan, ActivationRanges.measure(net, plan, calibration, 100),
                "bench", Map.of()));
        String dir = arch.replaceAll("[^A-Za-z0-9]+", "_");
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Files.createDirectories(out.resolve(dir));
            Files.write(out.resolve(dir).resolve(f.getKey()), f.getValue());
        }
        LogitModel logitModel = new LogitModel(net);
        var fp32 = Models.teacher(files.get("model.onnx"), "model.onnx");
        var int8 = Models.teacher(files.get("model-int8.onnx"), "model-int8.onnx");
        List<Engine> engines = new java.util.ArrayList<>();
        engines.add(new Engine("DL4J output()", "model.zip", files.get("model.zip").length, x -> net.output(x, false)));
        if (logitModel.fastPath()) { // otherwise LogitModel is output() itself
            engines.add(new Engine("DL4J " + logitModel.describe(), "model.zip", files.get("model.zip").length,
                    logitModel::logits));
        }
        engines.add(new Engine("ONNX Runtime fp32", "model.onnx", files.get("model.onnx").length, fp32::logits));
        engines.add(new Engine("ONNX Runtime int8", "model-int8.onnx", files.get("model-int8.onnx").length,
                int8::logits));
        INDArray rows = pixels(BATCH, 2);
        for (String file : List.of("model.onnx", "model-int8.onnx")) {
            engines.add(raw(file, files.get(file), rows));
        }
        double[][] latency = new double[engines.size()][runs];
        double[][] throughput = new double[engines.size()][runs];
        for (Engine e : engines) { // warm-up, not timed
            time(e, rows, calls, 3);
        }
        for (int r = 0; r < runs; r++) {
            for (int k = 0; k < engines.size(); k++) {
                int e = (k + r) % engines.size(); // a different engine goes first in every run
                double[] t = time(engines.get(e), rows, calls, batches);
                latency[e][r] = t[0];
                throughput[e][r] = t[1];
            }
        }
        String threads = System.getenv().getOrDefault("OMP_NUM_THREADS", "unset");
        for (int e = 0; e < engines.size(); e++) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("arch", arch);
            line.put("parameters", net.numParams());
            line.put("engine", engines.get(e).name());
            line.put("file", engines.get(e).file());
            line.put("bytes", engines.get(e).bytes());
            line.put("threads", threads);
            line.put("latencyMsP50", median(latency[e]));
            line.put("rowsPerSecond", median(throughput[e]));
            line.put("runs", runs);
            line.put("calls", calls);
            line.put("batches", batches);
            System.out.println(Manifest.oneLine(line));
        }
    }

    /**
     * ONNX Runtime's {@code session.run} alone, on input tensors made once from direct buffers (row 0, and the whole
     * batch): the engine without distillery's INDArray-to-tensor copies, for comparison with the rows above.
     */
    private static Engine raw(String file, byte[] model, INDArray rows) throws ai.onnxruntime.OrtException {
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        ai.onnxruntime.OrtSession.SessionOptions options = new ai.onnxruntime.OrtSession.SessionOptions();
        String omp = System.getenv("OMP_NUM_THREADS");
        options.setIntraOpNumThreads(omp == null ? 1 : Integer.parseInt(omp.strip()));
        options.setInterOpNumThreads(1);
        options.addConfigEntry("session.intra_op.allow_spinning", "0"); // as distillery's reader sets it
        ai.onnxruntime.OrtSession session = env.createSession(model, options);
        ai.onnxruntime.OnnxTensor one = tensor(env, rows.getRow(0, true));
        ai.onnxruntime.OnnxTensor batch = tensor(env, rows);
        String precision = file.contains("int8") ? "int8" : "fp32";
        return new Engine("ONNX Runtime " + precision + ", session.run only", file, model.length, x -> {
            try (ai.onnxruntime.OrtSession.Result r = session.run(Map.of(OnnxExport.INPUT, x.size(0) == 1 ? one
                    : batch))) {
                return null;
            } catch (ai.onnxruntime.OrtException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static ai.onnxruntime.OnnxTensor tensor(ai.onnxruntime.OrtEnvironment env, INDArray x)
            throws ai.onnxruntime.OrtException {
        float[] v = x.dup('c').data().asFloat();
        java.nio.FloatBuffer direct = java.nio.ByteBuffer.allocateDirect(4 * v.length)
                .order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        direct.put(v).rewind();
        return ai.onnxruntime.OnnxTensor.createTensor(env, direct, x.shape());
    }

    /** {median ms of one single-row call over {@code calls} calls, rows/s over {@code batches} batches of 1024}. */
    private static double[] time(Engine e, INDArray rows, int calls, int batches) {
        long[] nanos = new long[calls];
        for (int i = 0; i < calls; i++) {
            INDArray row = rows.getRow(i % BATCH, true);
            long t0 = System.nanoTime();
            e.logits().apply(row);
            nanos[i] = System.nanoTime() - t0;
        }
        Arrays.sort(nanos);
        long t0 = System.nanoTime();
        for (int b = 0; b < batches; b++) {
            e.logits().apply(rows);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new double[] {nanos[calls / 2] / 1e6, batches * (double) BATCH / seconds};
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Rows like ingested Fashion-MNIST (pixel / 255): half zeros, the rest k / 255 with k in 1..255, seeded. */
    private static INDArray pixels(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n * FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextBoolean() ? 0f : (1 + rng.nextInt(255)) / 255f;
        }
        return Nd4j.create(x, new long[] {n, FEATURES}, DataType.FLOAT);
    }
}
