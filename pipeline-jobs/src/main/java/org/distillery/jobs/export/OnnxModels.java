package org.distillery.jobs.export;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import onnx.Onnx;
import org.nd4j.shade.protobuf.InvalidProtocolBufferException;

/** What other jobs read of an ONNX model file without running it. */
public final class OnnxModels {
    private static final Set<String> WEIGHTED = Set.of("Conv", "Gemm", "MatMul");

    private OnnxModels() {
    }

    /**
     * The model's trainable parameters: elements of the constant weights and biases of its Conv, Gemm and MatMul
     * nodes, counted once, whether stored as floats or quantized (behind a DequantizeLinear; its scales and zero
     * points are not counted), so an int8 export counts as many as its fp32 twin and its DL4J source.
     *
     * @throws IllegalStateException when the bytes are not an ONNX model
     */
    public static long parameters(byte[] model, String source) {
        Onnx.GraphProto g;
        try {
            g = Onnx.ModelProto.parseFrom(model).getGraph();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("not a readable ONNX model: " + source + " (" + e.getMessage() + ")");
        }
        Map<String, Long> sizes = new HashMap<>();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            sizes.put(t.getName(), t.getDimsList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b));
        }
        Map<String, String> dequantized = new HashMap<>(); // DequantizeLinear output -> its quantized initializer
        for (Onnx.NodeProto n : g.getNodeList()) {
            if (n.getOpType().equals("DequantizeLinear") && sizes.containsKey(n.getInput(0))) {
                dequantized.put(n.getOutput(0), n.getInput(0));
            }
        }
        long total = 0;
        java.util.Set<String> counted = new java.util.HashSet<>();
        for (Onnx.NodeProto n : g.getNodeList()) {
            if (!WEIGHTED.contains(n.getOpType())) {
                continue;
            }
            List<String> inputs = n.getInputList();
            for (String in : inputs.subList(1, inputs.size())) {
                String stored = dequantized.getOrDefault(in, in);
                if (sizes.containsKey(stored) && counted.add(stored)) {
                    total += sizes.get(stored);
                }
            }
        }
        return total;
    }
}
