package org.distillery.model.nn;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An ONNX model run by ONNX Runtime as a logit function. The graph has one float input, of any rank, fed from the
 * transfer set's rows as {@link InputShapes} decides (as they are, or transposed to channels-last), and one float
 * output [N, C] is read: the only one, or the one named (several outputs without a name are refused, naming them).
 * The batch axis may be symbolic, or fixed as {@code torch.onnx.export} leaves it by default: then rows run in batches
 * of that size, the last one padded. Weights kept in external data files beside the model come with it
 * ({@link ModelFile}) and are written with the model into a temporary directory for ONNX Runtime to open, which is
 * deleted once the session holds them.
 *
 * <p>The output is taken as logits, except when the node producing it is a {@code Softmax}: then it holds
 * probabilities and {@link #logits} returns their log (floored at 1e-30), as {@link LogitModel} does for DL4J outputs
 * it cannot see behind. Those log-probabilities equal the model's logits up to a per-row constant, so softmax(./T)
 * gives the same distribution at every T; only a probability that underflowed to 0 in float32 (a logit gap beyond ~87)
 * comes back as the floor. A final {@code LogSoftmax} is used as is.
 *
 * <p>{@code OrtSession.run} is thread-safe, so one session serves every task thread of an executor. Its intra-op
 * thread count follows {@code OMP_NUM_THREADS} (the cores per Spark task in deploy/spark-defaults; 1 when unset),
 * like ND4J's OpenMP threads; concurrent tasks then run side by side on their own threads. Spinning idle threads is
 * off, as OMP_WAIT_POLICY=passive is for ND4J.
 */
final class OnnxTeacher implements LogitFunction {
    private static final float FLOOR = 1e-30f;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final String input;
    private final String output;
    private final InputShapes.Feed feed;
    private final int[] example;
    private final long inputs;
    private final long batch;
    private final int classes;
    private final boolean softmax;
    private final int threads;

    private OnnxTeacher(OrtEnvironment env, OrtSession session, ModelFile file, int[] exampleShape, String wanted,
                        int threads) throws OrtException {
        this.env = env;
        this.session = session;
        this.threads = threads;
        String source = file.source();
        Map<String, NodeInfo> ins = session.getInputInfo();
        if (ins.size() != 1) {
            throw new IllegalArgumentException("ONNX teacher " + source + " has " + ins.size() + " inputs ("
                    + describe(ins) + "): which one the transfer set's features feed is ambiguous; a teacher with one"
                    + " input is read");
        }
        input = ins.keySet().iterator().next();
        Map<String, NodeInfo> outs = session.getOutputInfo();
        output = output(outs, wanted, source);
        TensorInfo in = floatTensor(ins.get(input), "input", input, source);
        long[] shape = in.getShape();
        if (shape.length < 2) {
            throw new IllegalArgumentException("ONNX teacher " + source + ": input '" + input + "' must have a batch"
                    + " axis and the example's axes, got " + Arrays.toString(shape));
        }
        String[] names = in.getDimensionNames() == null ? new String[shape.length] : in.getDimensionNames();
        InputShapes.Declared declared = new InputShapes.Declared(shape[0], Arrays.copyOfRange(shape, 1, shape.length),
                Arrays.copyOfRange(names, 1, names.length));
        example = exampleShape != null ? exampleShape.clone() : fixedDims(declared, source);
        feed = InputShapes.feed(declared, example, true, source);
        inputs = feed.width();
        batch = shape[0] > 0 ? shape[0] : -1;
        long[] z = floatTensor(outs.get(output), "output", output, source).getShape();
        if (z.length != 2 || z[1] <= 0 || z[0] > 0 && z[0] != batch) {
            throw new IllegalArgumentException("ONNX teacher " + source + ": output '" + output + "' must be a float"
                    + " tensor [N, classes] with a fixed class count, got " + Arrays.toString(z));
        }
        classes = Math.toIntExact(z[1]);
        softmax = OnnxGraph.producer(file.bytes(), output).equals("Softmax");
    }

    /**
     * A session over {@code file}, taking rows of {@code exampleShape} (null: the input's own fixed dimensions) and
     * reading output {@code output} (null: the only one).
     *
     * @throws IllegalStateException when ONNX Runtime cannot load the model
     * @throws IllegalArgumentException when the graph's input does not take the example shape, it has several inputs,
     *     or the output is ambiguous, unknown or not a float [N, C] tensor
     */
    static OnnxTeacher load(ModelFile file, int[] exampleShape, String output) {
        OrtEnvironment env = environment();
        int threads = threads(System.getenv("OMP_NUM_THREADS"));
        OrtSession session = session(env, file, threads);
        try {
            return new OnnxTeacher(env, session, file, exampleShape, output, threads);
        } catch (IllegalArgumentException e) {
            close(session);
            throw e;
        } catch (OrtException | RuntimeException e) {
            close(session);
            throw new IllegalStateException("cannot read the ONNX graph of " + file.source() + " ("
                    + Models.firstLine(e) + ")", e);
        }
    }

    static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "distillery");
    }

    /**
     * A session over {@code file} with {@code threads} intra-op threads that do not spin when idle, external data
     * included.
     *
     * @throws IllegalStateException when ONNX Runtime cannot load the model
     * @throws IllegalArgumentException when an external data file the model names is missing or outside its directory
     */
    static OrtSession session(OrtEnvironment env, ModelFile file, int threads) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            return open(env, file, options);
        } catch (OrtException e) {
            throw new IllegalStateException("not a readable ONNX model: " + file.source() + " (" + Models.firstLine(e)
                    + ")", e);
        }
    }

    /** A session from the bytes, or, with external data, from the model and its side files in a temporary dir. */
    private static OrtSession open(OrtEnvironment env, ModelFile file, OrtSession.SessionOptions options)
            throws OrtException {
        Set<String> needed = externalData(file);
        if (needed.isEmpty()) {
            return env.createSession(file.bytes(), options);
        }
        try (ExternalDataDir dir = ExternalDataDir.write(file, needed)) {
            return env.createSession(dir.model().toString(), options);
        }
    }

    /** The side files the model names, each checked to be given and to lie inside the model's directory. */
    private static Set<String> externalData(ModelFile file) {
        Set<String> needed;
        try {
            needed = OnnxGraph.externalData(file.bytes());
        } catch (IllegalStateException e) {
            return Set.of(); // not parseable here: ONNX Runtime's own error names the damage
        }
        for (String location : needed) {
            ExternalDataDir.checkLocation(location, file.source());
            if (!file.sideFiles().containsKey(location)) {
                throw new IllegalArgumentException("ONNX model " + file.source() + " keeps weights in an external"
                        + " data file that was not found beside it: " + location);
            }
        }
        return needed;
    }

    private static String output(Map<String, NodeInfo> outs, String wanted, String source) {
        if (wanted != null) {
            if (!outs.containsKey(wanted)) {
                throw new IllegalArgumentException("--teacher-output '" + wanted + "' is not an output of ONNX teacher "
                        + source + " (its outputs: " + String.join(", ", outs.keySet()) + ")");
            }
            return wanted;
        }
        if (outs.size() != 1) {
            throw new IllegalArgumentException("ONNX teacher " + source + " has " + outs.size() + " outputs ("
                    + describe(outs) + "): name the one holding logits or probabilities with --teacher-output");
        }
        return outs.keySet().iterator().next();
    }

    static String describe(Map<String, NodeInfo> nodes) {
        return nodes.entrySet().stream().map(e -> e.getKey() + (e.getValue().getInfo() instanceof TensorInfo t
                ? " " + Arrays.toString(t.getShape()).replace("-1", "N") : "")).collect(Collectors.joining(", "));
    }

    private static TensorInfo floatTensor(NodeInfo node, String role, String name, String source) {
        if (!(node.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT) {
            throw new IllegalArgumentException("ONNX teacher " + source + ": " + role + " '" + name + "' must be a"
                    + " float tensor, got " + node.getInfo());
        }
        return t;
    }

    /** Without an example shape, the input's own dimensions, which must then be fixed. */
    private static int[] fixedDims(InputShapes.Declared declared, String source) {
        if (Arrays.stream(declared.dims()).anyMatch(d -> d < 0)) {
            throw new IllegalArgumentException("ONNX teacher " + source + " has input " + declared.describe()
                    + " with symbolic axes: an example shape is needed to feed it");
        }
        return Arrays.stream(declared.dims()).mapToInt(Math::toIntExact).toArray();
    }

    /** ONNX Runtime's intra-op threads: {@code OMP_NUM_THREADS} when it is a positive integer, else 1. */
    static int threads(String ompNumThreads) {
        try {
            int n = ompNumThreads == null ? 1 : Integer.parseInt(ompNumThreads.strip());
            return n > 0 ? n : 1;
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    @Override
    public INDArray logits(INDArray features) {
        if (features.rank() != 2 || features.size(1) != inputs) {
            throw new IllegalArgumentException("features must be [rows, " + inputs + "], got "
                    + Arrays.toString(features.shape()));
        }
        int n = Math.toIntExact(features.size(0));
        float[] x = features.castTo(DataType.FLOAT).dup('c').data().asFloat();
        float[] z = new float[Math.multiplyExact(n, classes)];
        int step = batch > 0 ? (int) batch : Math.max(n, 1);
        for (int from = 0; from < n; from += step) {
            int rows = Math.min(step, n - from);
            float[] out = run(batch(x, from, rows, batch > 0 ? step : rows), batch > 0 ? step : rows);
            System.arraycopy(out, 0, z, from * classes, rows * classes);
        }
        if (softmax) {
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) Math.log(Math.max(z[i], FLOOR));
            }
        }
        return Nd4j.create(z, new long[] {n, classes}, DataType.FLOAT);
    }

    /** Rows [from, from + rows) of {@code x} in the teacher's layout, zero-padded to {@code size} rows. */
    private float[] batch(float[] x, int from, int rows, int size) {
        int width = (int) inputs;
        float[] in = new float[size * width];
        if (!feed.channelsLast()) {
            System.arraycopy(x, from * width, in, 0, rows * width);
        } else {
            for (int i = 0; i < rows; i++) {
                InputShapes.toChannelsLast(x, from + i, example[0], example[1], example[2], in, i * width);
            }
        }
        return in;
    }

    private float[] run(float[] in, int rows) {
        long[] shape = new long[feed.dims().length + 1];
        shape[0] = rows;
        System.arraycopy(feed.dims(), 0, shape, 1, feed.dims().length);
        try (OnnxTensor tensor = OnnxTensor.createTensor(env, FloatBuffer.wrap(in), shape);
             OrtSession.Result result = session.run(Map.of(input, tensor), Set.of(output))) {
            float[] z = new float[rows * classes];
            ((OnnxTensor) result.get(0)).getFloatBuffer().get(z);
            return z;
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + rows + " rows: "
                    + Models.firstLine(e), e);
        }
    }

    @Override
    public long inputs() {
        return inputs;
    }

    @Override
    public int classes() {
        return classes;
    }

    @Override
    public boolean threadSafe() {
        return true;
    }

    @Override
    public String describe() {
        long[] dims = feed.dims();
        return "ONNX Runtime " + env.getVersion() + " (" + input + " [" + (batch > 0 ? batch : "N") + ", "
                + Arrays.stream(dims).mapToObj(String::valueOf).collect(Collectors.joining(", ")) + "]"
                + (feed.channelsLast() ? " fed channels-last" : "") + " -> " + output + " [N, " + classes + "]"
                + (softmax ? ", log of the final Softmax" : "") + (batch > 0 ? ", fixed batch of " + batch : "")
                + ", " + threads + " intra-op thread" + (threads == 1 ? "" : "s") + ")";
    }

    static void close(OrtSession session) {
        try {
            session.close();
        } catch (OrtException ignored) {
            // the session is being discarded after a failed check; its error is the one reported
        }
    }
}
