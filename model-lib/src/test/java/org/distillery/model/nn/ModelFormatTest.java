package org.distillery.model.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.loss.DistillationLoss;
import org.junit.jupiter.api.Test;

/** Telling teacher formats apart, and the few protobuf facts read from ONNX models. End-to-end: TeacherFormatsTest. */
class ModelFormatTest {
    private static final byte[] HDF5 = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

    @Test
    void contentWinsOverTheName() {
        byte[] zip = Models.toBytes(tiny(), false);
        assertThat(ModelFormat.detect(zip, "teacher.onnx")).isEqualTo(ModelFormat.DL4J_ZIP);
        assertThat(ModelFormat.detect(hdf5At(0), "teacher.bin")).isEqualTo(ModelFormat.KERAS_HDF5);
        assertThat(ModelFormat.detect(hdf5At(512), "teacher")).isEqualTo(ModelFormat.KERAS_HDF5); // after a user block
        assertThat(ModelFormat.detect(hdf5At(2048), "teacher")).isEqualTo(ModelFormat.KERAS_HDF5);
        assertThat(ModelFormat.detect(onnx("Softmax"), "teacher.model")).isEqualTo(ModelFormat.ONNX);
    }

    @Test
    void damagedFilesAreTakenForTheFormatTheirNamePromises() {
        byte[] junk = "not a model".getBytes(StandardCharsets.UTF_8);
        assertThat(ModelFormat.detect(junk, "a.zip")).isEqualTo(ModelFormat.DL4J_ZIP);
        assertThat(ModelFormat.detect(junk, "a.H5")).isEqualTo(ModelFormat.KERAS_HDF5);
        assertThat(ModelFormat.detect(junk, "a.hdf5")).isEqualTo(ModelFormat.KERAS_HDF5);
        assertThat(ModelFormat.detect(junk, "a.onnx")).isEqualTo(ModelFormat.ONNX);
        assertThat(ModelFormat.detect(hdf5At(100), "a.onnx")).as("HDF5's signature only at 0, 512, 1024, ...")
                .isEqualTo(ModelFormat.ONNX);
        assertThatThrownBy(() -> ModelFormat.detect(junk, "hdfs:/m/teacher"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("not a DL4J zip, Keras HDF5 or ONNX model: hdfs:/m/teacher (11 bytes, starting 6e 6f 74 20 61"
                        + " 20 6d 6f)");
        assertThatThrownBy(() -> ModelFormat.detect(new byte[0], "empty"))
                .hasMessage("not a DL4J zip, Keras HDF5 or ONNX model: empty (0 bytes)");
    }

    @Test
    void onnxModelsAreRecognisedAndTheirOutputOperatorNamed() {
        assertThat(OnnxGraph.parses(onnx("Softmax"))).isTrue();
        assertThat(OnnxGraph.producer(onnx("Softmax"), "y")).isEqualTo("Softmax");
        assertThat(OnnxGraph.producer(onnx("Gemm"), "y")).isEqualTo("Gemm");
        assertThat(OnnxGraph.producer(onnx("Gemm"), "x")).as("a graph input").isEmpty();
        byte[] truncated = onnx("Softmax");
        assertThat(OnnxGraph.parses(Arrays.copyOf(truncated, truncated.length - 3))).isFalse();
        assertThat(OnnxGraph.parses("plain text".getBytes(StandardCharsets.UTF_8))).isFalse();
        assertThat(OnnxGraph.parses(message(field(1, 8)))).as("no graph").isFalse();
        assertThatThrownBy(() -> OnnxGraph.producer(Arrays.copyOf(truncated, truncated.length - 3), "y"))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("field of ");
    }

    @Test
    void onnxModelsAreNotDl4jNetworks() {
        assertThatThrownBy(() -> Models.network(onnx("Softmax"), "s3a://b/teacher.onnx"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("ONNX model s3a://b/teacher.onnx cannot be read as a DL4J network (only label runs ONNX"
                        + " teachers; DL4J zips and Keras HDF5 files are read everywhere)");
    }

    @Test
    void onnxRuntimeThreadsFollowOmpNumThreads() {
        assertThat(OnnxTeacher.threads(null)).isEqualTo(1);
        assertThat(OnnxTeacher.threads(" 4 ")).isEqualTo(4);
        assertThat(OnnxTeacher.threads("0")).isEqualTo(1);
        assertThat(OnnxTeacher.threads("many")).isEqualTo(1);
    }

    private static MultiLayerNetwork tiny() {
        return new Architecture(List.of(3), 0).build(4, 2, DistillationLoss.hardLabelsOnly(), 0.01, 1);
    }

    private static byte[] hdf5At(int offset) {
        byte[] b = new byte[offset + 64];
        System.arraycopy(HDF5, 0, b, offset, HDF5.length);
        return b;
    }

    /** A ModelProto (ir_version 8) whose graph has one node {@code op}(x) -> y and output y. */
    private static byte[] onnx(String op) {
        byte[] node = message(text(1, "x"), text(2, "y"), text(3, "n0"), text(4, op));
        byte[] graph = message(bytes(1, node), text(2, "g"), bytes(12, message(text(1, "y"))));
        return message(field(1, 8), bytes(7, graph));
    }

    private static byte[] message(byte[]... fields) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] f : fields) {
            out.writeBytes(f);
        }
        return out.toByteArray();
    }

    private static byte[] field(int number, long varint) {
        return message(varint((long) number << 3), varint(varint));
    }

    private static byte[] text(int number, String s) {
        return bytes(number, s.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] bytes(int number, byte[] payload) {
        return message(varint((long) number << 3 | 2), varint(payload.length), payload);
    }

    private static byte[] varint(long v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((v & ~0x7fL) != 0) {
            out.write((int) (v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
        return out.toByteArray();
    }
}
