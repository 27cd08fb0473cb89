package org.distillery.model.nn;

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
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An ONNX model run by ONNX Runtime as a logit function. The graph must have one float input [N, D] and one float
 * output [N, C] with D and C fixed (N may be symbolic). The output is taken as logits, except when the node producing
 * it is a {@code Softmax}: then it holds probabilities and {@link #logits} returns their log (floored at 1e-30), as
 * {@link LogitModel} does for DL4J outputs it cannot see behind. Those log-probabilities equal the model's logits up
 * to a per-row constant, so softmax(./T) gives the same distribution at every T; only a probability that underflowed
 * to 0 in float32 (a logit gap beyond ~87) comes back as the floor. A final {@code LogSoftmax} is used as is.
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
    private final long inputs;
    private final int classes;
    private final boolean softmax;
    private final int threads;

    private OnnxTeacher(OrtEnvironment env, OrtSession session, byte[] model, String source, int threads)
            throws OrtException {
        this.env = env;
        this.session = session;
        this.threads = threads;
        if (session.getNumInputs() != 1 || session.getNumOutputs() != 1) {
            throw new IllegalArgumentException("ONNX teacher " + source + " has " + session.getNumInputs()
                    + " inputs and " + session.getNumOutputs() + " outputs; one input [N, features] and one output"
                    + " [N, classes] are read");
        }
        input = session.getInputNames().iterator().next();
        output = session.getOutputNames().iterator().next();
        inputs = width(session.getInputInfo().get(input).getInfo(), "input", input, source);
        classes = Math.toIntExact(width(session.getOutputInfo().get(output).getInfo(), "output", output, source));
        softmax = OnnxGraph.producer(model, output).equals("Softmax");
    }

    /**
     * A session over {@code model}; {@code source} names it in messages.
     *
     * @throws IllegalStateException when ONNX Runtime cannot load the bytes
     * @throws IllegalArgumentException when the graph is not one float [N, D] input to one float [N, C] output
     */
    static OnnxTeacher load(byte[] model, String source) {
        OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "distillery");
        int threads = threads(System.getenv("OMP_NUM_THREADS"));
        OrtSession session;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            session = env.createSession(model, options);
        } catch (OrtException e) {
            throw new IllegalStateException("not a readable ONNX model: " + source + " (" + Models.firstLine(e) + ")",
                    e);
        }
        try {
            return new OnnxTeacher(env, session, model, source, threads);
        } catch (IllegalArgumentException e) {
            close(session);
            throw e;
        } catch (OrtException | RuntimeException e) {
            close(session);
            throw new IllegalStateException("cannot read the ONNX graph of " + source + " (" + Models.firstLine(e)
                    + ")", e);
        }
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

    private static long width(ai.onnxruntime.ValueInfo info, String role, String name, String source) {
        long[] shape = info instanceof TensorInfo t ? t.getShape() : null;
        if (shape == null || ((TensorInfo) info).type != OnnxJavaType.FLOAT || shape.length != 2 || shape[1] <= 0) {
            throw new IllegalArgumentException("ONNX teacher " + source + ": " + role + " '" + name + "' must be a"
                    + " float tensor [N, " + (role.equals("input") ? "features" : "classes") + "] with a fixed width, got "
                    + (shape == null ? info : ((TensorInfo) info).type + " " + Arrays.toString(shape)));
        }
        return shape[1];
    }

    @Override
    public INDArray logits(INDArray features) {
        if (features.rank() != 2 || features.size(1) != inputs) {
            throw new IllegalArgumentException("features must be [rows, " + inputs + "], got "
                    + Arrays.toString(features.shape()));
        }
        long n = features.size(0);
        if (n == 0) {
            return Nd4j.create(DataType.FLOAT, 0, classes);
        }
        // one copy into a fresh row-major array whose off-heap buffer ONNX Runtime reads in place (a direct buffer is
        // not copied again); copying element by element into a float[] cost more than the engine itself (MLPs)
        INDArray x = features.castTo(DataType.FLOAT).dup('c');
        FloatBuffer direct = x.data().asNioFloat();
        try (OnnxTensor in = OnnxTensor.createTensor(env, direct, new long[] {n, inputs});
             OrtSession.Result result = session.run(Map.of(input, in))) {
            float[] z = new float[Math.toIntExact(n * classes)];
            ((OnnxTensor) result.get(0)).getFloatBuffer().get(z);
            if (softmax) {
                for (int i = 0; i < z.length; i++) {
                    z[i] = (float) Math.log(Math.max(z[i], FLOOR));
                }
            }
            return Nd4j.create(z, new long[] {n, classes}, DataType.FLOAT);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on a batch of " + n + " rows: "
                    + Models.firstLine(e), e);
        } finally {
            java.lang.ref.Reference.reachabilityFence(x); // its memory must outlive the run that reads it
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
        return "ONNX Runtime " + env.getVersion() + " (" + input + " [N, " + inputs + "] -> " + output + " [N, "
                + classes + "]" + (softmax ? ", log of the final Softmax" : "") + ", " + threads + " intra-op thread"
                + (threads == 1 ? "" : "s") + ")";
    }

    private static void close(OrtSession session) {
        try {
            session.close();
        } catch (OrtException ignored) {
            // the session is being discarded after a failed check; its error is the one reported
        }
    }
}
