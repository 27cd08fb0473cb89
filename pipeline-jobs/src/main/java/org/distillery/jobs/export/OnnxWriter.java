package org.distillery.jobs.export;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import onnx.Onnx;
import org.nd4j.shade.protobuf.ByteString;

/**
 * Builds one ONNX model with the protobuf classes generated from onnx.proto that nd4j-api ships ({@code onnx.Onnx},
 * against its shaded protobuf): initializers as little-endian raw data, nodes with unique names, one float input and
 * one float output whose first axis is the symbolic batch size.
 *
 * <p>IR version 7 and the default domain at opset 13 (ONNX 1.8): the first opset with per-axis QuantizeLinear and
 * DequantizeLinear, and one every ONNX Runtime release since 1.6 runs (1.28 reads IR versions up to 11, opsets up
 * to 23).
 */
final class OnnxWriter {
    static final long IR_VERSION = 7;
    static final long OPSET = 13;
    static final String BATCH = "batch";
    private final Onnx.GraphProto.Builder graph = Onnx.GraphProto.newBuilder();
    private final Map<String, Integer> used = new LinkedHashMap<>();

    OnnxWriter(String name) {
        graph.setName(name);
    }

    /** A name not used yet, from {@code base}. */
    String fresh(String base) {
        int n = used.merge(base, 1, Integer::sum);
        return n == 1 ? base : base + "_" + n;
    }

    void input(String name, long width) {
        graph.addInput(valueInfo(name, width));
    }

    void output(String name, long width) {
        graph.addOutput(valueInfo(name, width));
    }

    private static Onnx.ValueInfoProto valueInfo(String name, long width) {
        Onnx.TensorShapeProto shape = Onnx.TensorShapeProto.newBuilder()
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH))
                .addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(width)).build();
        return Onnx.ValueInfoProto.newBuilder().setName(name).setType(Onnx.TypeProto.newBuilder().setTensorType(
                Onnx.TypeProto.Tensor.newBuilder().setElemType(Onnx.TensorProto.DataType.FLOAT.getNumber())
                        .setShape(shape))).build();
    }

    String floats(String base, float[] values, long... dims) {
        ByteBuffer b = buffer(4 * values.length);
        b.asFloatBuffer().put(values);
        return initializer(base, Onnx.TensorProto.DataType.FLOAT, b, dims);
    }

    String int8s(String base, byte[] values, long... dims) {
        return initializer(base, Onnx.TensorProto.DataType.INT8, ByteBuffer.wrap(values), dims);
    }

    String int32s(String base, int[] values, long... dims) {
        ByteBuffer b = buffer(4 * values.length);
        b.asIntBuffer().put(values);
        return initializer(base, Onnx.TensorProto.DataType.INT32, b, dims);
    }

    String int64s(String base, long[] values, long... dims) {
        ByteBuffer b = buffer(8 * values.length);
        b.asLongBuffer().put(values);
        return initializer(base, Onnx.TensorProto.DataType.INT64, b, dims);
    }

    private static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN); // ONNX's raw_data is little-endian
    }

    private String initializer(String base, Onnx.TensorProto.DataType type, ByteBuffer data, long[] dims) {
        String name = fresh(base);
        graph.addInitializer(Onnx.TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .addAllDims(Arrays.stream(dims).boxed().toList()).setRawData(ByteString.copyFrom(data.array())));
        return name;
    }

    /** Adds a node of {@code op} and returns its one output, named after {@code base}. */
    String node(String op, String base, List<String> inputs, Onnx.AttributeProto... attributes) {
        return node(op, base, fresh(base), inputs, attributes);
    }

    /** As {@link #node(String, String, List, Onnx.AttributeProto...)} with the output's exact name. */
    String node(String op, String nodeBase, String output, List<String> inputs, Onnx.AttributeProto... attributes) {
        graph.addNode(Onnx.NodeProto.newBuilder().setOpType(op).setName(fresh(nodeBase + "_" + op))
                .addAllInput(inputs).addOutput(output).addAllAttribute(Arrays.asList(attributes)));
        return output;
    }

    static Onnx.AttributeProto ints(String name, int... values) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INTS)
                .addAllInts(Arrays.stream(values).asLongStream().boxed().toList()).build();
    }

    static Onnx.AttributeProto integer(String name, long value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.INT)
                .setI(value).build();
    }

    static Onnx.AttributeProto real(String name, float value) {
        return Onnx.AttributeProto.newBuilder().setName(name).setType(Onnx.AttributeProto.AttributeType.FLOAT)
                .setF(value).build();
    }

    /** The model: this graph, the opset, and {@code metadata} as metadata_props in order. */
    byte[] model(String producerVersion, String doc, Map<String, String> metadata) {
        Onnx.ModelProto.Builder m = Onnx.ModelProto.newBuilder().setIrVersion(IR_VERSION)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName("distillery").setProducerVersion(producerVersion).setDocString(doc)
                .setGraph(graph);
        metadata.forEach((k, v) -> m.addMetadataProps(Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build().toByteArray();
    }
}
