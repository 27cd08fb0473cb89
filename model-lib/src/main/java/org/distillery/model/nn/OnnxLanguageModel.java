package org.distillery.model.nn;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A causal language model exported to ONNX (a GPT-2 from Hugging Face {@code transformers} through
 * {@code torch.onnx.export}, say), run by ONNX Runtime as a {@link TokenLogitFunction}.
 *
 * <p>Takes: one int64 token ids input [N, T] (named {@code input_ids}, or the only input besides the mask), and
 * optionally an {@code attention_mask} input of the same shape, fed all ones; one float output [N, T, V] with a fixed V
 * (the only output, the one named {@code logits}, or the one the caller names). The batch axis may be fixed (windows
 * then run in batches of that size, the last padded) and so may the sequence axis, the model's context: shorter
 * windows are padded at the end, which leaves the logits of their real positions alone because the model is causal.
 * External data files come with the {@link ModelFile}, as for {@link OnnxTeacher}.
 *
 * <p>Refuses, with one line naming the value: ids that are not int64, a required input other than the ids and the
 * mask, an ambiguous or unknown output, an output that is not float [N, T, V]; at run time, windows of unequal length,
 * a window longer than a fixed context and a token id outside [0, V).
 *
 * <p>Thread-safe (one ONNX Runtime session), with OnnxTeacher's thread settings ({@code OMP_NUM_THREADS}).
 */
final class OnnxLanguageModel implements TokenLogitFunction {
    static final String IDS = "input_ids";
    static final String MASK = "attention_mask";
    private static final String LOGITS = "logits";
    private final OrtEnvironment env;
    private final OrtSession session;
    private final String source;
    private final String ids;
    private final String mask; // null: the model takes no mask
    private final String output;
    private final long batch; // > 0: a fixed batch size
    private final int context; // > 0: a fixed sequence length
    private final int vocabulary;
    private final int threads;

    private OnnxLanguageModel(OrtEnvironment env, OrtSession session, String source, String wanted, int threads)
            throws OrtException {
        this.env = env;
        this.session = session;
        this.source = source;
        this.threads = threads;
        Map<String, NodeInfo> ins = session.getInputInfo();
        ids = idsInput(ins, source);
        mask = ins.containsKey(MASK) ? MASK : null;
        long[] shape = int64Matrix(ins.get(ids), "token ids", source);
        if (mask != null) {
            int64Matrix(ins.get(MASK), "attention mask", source);
        }
        batch = shape[0] > 0 ? shape[0] : -1;
        context = shape[1] > 0 ? Math.toIntExact(shape[1]) : -1;
        Map<String, NodeInfo> outs = session.getOutputInfo();
        output = output(outs, wanted, source);
        long[] z = outs.get(output).getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.FLOAT ? t.getShape()
                : null;
        if (z == null || z.length != 3 || z[2] <= 0) {
            throw new IllegalArgumentException("ONNX LM " + source + ": output '" + output + "' must be float logits"
                    + " [N, T, V] with a fixed vocabulary size V, got " + outs.get(output).getInfo());
        }
        vocabulary = Math.toIntExact(z[2]);
    }

    /**
     * A session over {@code file} reading output {@code output} (null: the only one, or the one named "logits").
     *
     * @throws IllegalStateException when ONNX Runtime cannot load the model
     * @throws IllegalArgumentException when its inputs or outputs are not those of a causal LM (see the class comment)
     */
    static OnnxLanguageModel load(ModelFile file, String output) {
        OrtEnvironment env = OnnxTeacher.environment();
        int threads = OnnxTeacher.threads(System.getenv("OMP_NUM_THREADS"));
        OrtSession session = OnnxTeacher.session(env, file, threads);
        try {
            return new OnnxLanguageModel(env, session, file.source(), output, threads);
        } catch (IllegalArgumentException e) {
            OnnxTeacher.close(session);
            throw e;
        } catch (OrtException | RuntimeException e) {
            OnnxTeacher.close(session);
            throw new IllegalStateException("cannot read the ONNX graph of " + file.source() + " ("
                    + Models.firstLine(e) + ")", e);
        }
    }

    /** The ids input: "input_ids", else the only input that is not the mask; any other input is refused. */
    private static String idsInput(Map<String, NodeInfo> ins, String source) {
        List<String> others = ins.keySet().stream().filter(n -> !n.equals(MASK)).toList();
        String ids = ins.containsKey(IDS) ? IDS : others.size() == 1 ? others.get(0) : null;
        List<String> extra = others.stream().filter(n -> !n.equals(ids)).toList();
        if (ids == null || !extra.isEmpty()) {
            throw new IllegalArgumentException("ONNX LM " + source + " has inputs " + OnnxTeacher.describe(ins)
                    + ": only token ids ('" + IDS + "') and an optional '" + MASK + "' are fed"
                    + (extra.isEmpty() ? "" : ", not " + String.join(", ", extra)));
        }
        return ids;
    }

    private static long[] int64Matrix(NodeInfo node, String role, String source) {
        if (!(node.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.INT64 || t.getShape().length != 2) {
            throw new IllegalArgumentException("ONNX LM " + source + ": " + role + " input '" + node.getName()
                    + "' must be int64 [N, T], got " + node.getInfo());
        }
        return t.getShape();
    }

    private static String output(Map<String, NodeInfo> outs, String wanted, String source) {
        if (wanted != null) {
            if (!outs.containsKey(wanted)) {
                throw new IllegalArgumentException("'" + wanted + "' is not an output of ONNX LM " + source
                        + " (its outputs: " + String.join(", ", outs.keySet()) + ")");
            }
            return wanted;
        }
        if (outs.size() == 1) {
            return outs.keySet().iterator().next();
        }
        if (outs.containsKey(LOGITS)) {
            return LOGITS;
        }
        throw new IllegalArgumentException("ONNX LM " + source + " has " + outs.size() + " outputs ("
                + OnnxTeacher.describe(outs) + ") and none named '" + LOGITS + "': name the one holding the logits");
    }

    @Override
    public INDArray logits(int[][] windows) {
        int n = windows.length;
        int t = n == 0 ? 0 : windows[0].length;
        check(windows, t);
        int width = context > 0 ? context : t; // the sequence length fed: the fixed context, or the windows' own
        int step = batch > 0 ? (int) batch : Math.max(n, 1);
        float[] out = new float[Math.multiplyExact(Math.multiplyExact(n, vocabulary), t)];
        for (int from = 0; from < n; from += step) {
            int rows = Math.min(step, n - from);
            int fed = batch > 0 ? step : rows;
            float[] z = run(feed(windows, from, rows, fed, width), fed, width);
            for (int i = 0; i < rows; i++) { // [fed, width, V] -> [N, V, T], real positions only
                for (int s = 0; s < t; s++) {
                    for (int v = 0; v < vocabulary; v++) {
                        out[((from + i) * vocabulary + v) * t + s] = z[(i * width + s) * vocabulary + v];
                    }
                }
            }
        }
        return Nd4j.create(out, new long[] {n, vocabulary, t}, DataType.FLOAT);
    }

    private void check(int[][] windows, int t) {
        if (context > 0 && t > context) {
            throw new IllegalArgumentException("a window of " + t + " tokens is longer than the fixed context of "
                    + context + " tokens of ONNX LM " + source);
        }
        for (int i = 0; i < windows.length; i++) {
            if (windows[i].length != t) {
                throw new IllegalArgumentException("windows must have equal lengths, got " + windows[i].length
                        + " tokens in window " + i + " and " + t + " in window 0");
            }
            for (int s = 0; s < t; s++) {
                int id = windows[i][s];
                if (id < 0 || id >= vocabulary) {
                    throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocabulary
                            + ") of ONNX LM " + source + " at window " + i + ", position " + s);
                }
            }
        }
    }

    /** Windows [from, from + rows) as int64 [fed, width], zero-padded at the end of each window and below. */
    private static long[] feed(int[][] windows, int from, int rows, int fed, int width) {
        long[] x = new long[Math.multiplyExact(fed, width)];
        for (int i = 0; i < rows; i++) {
            int[] w = windows[from + i];
            for (int s = 0; s < w.length; s++) {
                x[i * width + s] = w[s];
            }
        }
        return x;
    }

    private float[] run(long[] x, int rows, int width) {
        long[] shape = {rows, width};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(ids, OnnxTensor.createTensor(env, LongBuffer.wrap(x), shape));
            if (mask != null) {
                long[] ones = new long[x.length];
                Arrays.fill(ones, 1L);
                inputs.put(mask, OnnxTensor.createTensor(env, LongBuffer.wrap(ones), shape));
            }
            try (OrtSession.Result result = session.run(inputs, Set.of(output))) {
                OnnxTensor z = (OnnxTensor) result.get(0);
                long[] got = z.getInfo().getShape();
                if (got.length != 3 || got[0] != rows || got[1] != width || got[2] != vocabulary) {
                    throw new IllegalStateException("ONNX LM " + source + " returned logits "
                            + Arrays.toString(got) + " for ids " + Arrays.toString(shape) + ", expected ["
                            + rows + ", " + width + ", " + vocabulary + "]");
                }
                float[] out = new float[rows * width * vocabulary];
                z.getFloatBuffer().get(out);
                return out;
            }
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed on " + rows + " windows of " + width + " tokens of"
                    + " ONNX LM " + source + ": " + Models.firstLine(e), e);
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    /** Releases the session. */
    @Override
    public void close() {
        OnnxTeacher.close(session);
    }

    @Override
    public int vocabulary() {
        return vocabulary;
    }

    @Override
    public OptionalInt context() {
        return context > 0 ? OptionalInt.of(context) : OptionalInt.empty();
    }

    @Override
    public boolean threadSafe() {
        return true;
    }

    @Override
    public String describe() {
        return "ONNX Runtime " + env.getVersion() + " (" + ids + " [" + (batch > 0 ? batch : "N") + ", "
                + (context > 0 ? context : "T") + "]" + (mask != null ? " with " + mask + " of ones" : "") + " -> "
                + output + " [N, T, " + vocabulary + "]" + (context > 0 ? ", fixed context of " + context : "")
                + (batch > 0 ? ", fixed batch of " + batch : "") + ", " + threads + " intra-op thread"
                + (threads == 1 ? "" : "s") + ")";
    }
}
