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
    void zipsAreToldApartByTheirEntries() throws Exception {
        byte[] keras = zip("metadata.json", "config.json", "model.weights.h5");
        assertThat(ModelFormat.detect(keras, "teacher.zip")).as("a .keras archive renamed").isEqualTo(
                ModelFormat.KERAS_ARCHIVE);
        assertThat(ModelFormat.detect(keras, "teacher.keras")).isEqualTo(ModelFormat.KERAS_ARCHIVE);
        assertThat(ModelFormat.detect(Models.toBytes(tiny(), false), "teacher.keras")).isEqualTo(ModelFormat.DL4J_ZIP);
        assertThat(ModelFormat.detect(zip("metadata.json", "config.json"), "t.zip")).as("weights missing: reading"
                + " it says so").isEqualTo(ModelFormat.KERAS_ARCHIVE);
        byte[] junk = "PK\u0003\u0004 not really a zip".getBytes(StandardCharsets.ISO_8859_1);
        assertThat(ModelFormat.detect(junk, "t.keras")).isEqualTo(ModelFormat.KERAS_ARCHIVE);
        assertThat(ModelFormat.detect(junk, "t.zip")).isEqualTo(ModelFormat.DL4J_ZIP);
        assertThatThrownBy(() -> ModelFormat.detect(zip("a.txt", "b.txt"), "s3a://b/t.zip"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a zip that is neither a DL4J model zip (configuration.json) nor a Keras archive"
                        + " (config.json, model.weights.h5): s3a://b/t.zip holds a.txt, b.txt");
    }

    @Test
    void onnxExternalDataLocationsAreReadAndKeptInsideTheModelsDirectory() {
        byte[] tensor = message(text(8, "W"), bytes(13, message(text(1, "location"), text(2, "w.data"))),
                bytes(13, message(text(1, "offset"), text(2, "0"))), field(14, 1));
        byte[] constant = message(text(2, "c"), text(4, "Constant"), bytes(5, message(text(1, "value"),
                bytes(5, message(text(8, "C"), bytes(13, message(text(1, "location"), text(2, "sub/c.bin"))))))));
        byte[] graph = message(bytes(1, constant), bytes(5, tensor), bytes(5, message(text(8, "inline"))));
        byte[] model = message(field(1, 8), bytes(7, graph));
        assertThat(OnnxGraph.externalData(model)).containsExactly("sub/c.bin", "w.data");
        assertThat(OnnxGraph.externalData(onnx("Gemm"))).isEmpty();
        for (String outside : List.of("../w.data", "/etc/passwd", "a/../../w", "")) {
            assertThatThrownBy(() -> ExternalDataDir.checkLocation(outside, "m.onnx"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("ONNX model m.onnx names external data outside its directory: '" + outside + "'");
        }
    }

    @Test
    void theIdentityOfAModelWithSideFilesCoversEveryFile() {
        byte[] m = {1, 2, 3};
        ModelFile alone = new ModelFile("m", m);
        assertThat(alone.sha256()).isEqualTo(Models.sha256(m));
        java.util.TreeMap<String, byte[]> side = new java.util.TreeMap<>(java.util.Map.of("b.data", new byte[] {4},
                "a.data", new byte[] {5}));
        String listing = Models.sha256(m) + "  model\n" + Models.sha256(new byte[] {5}) + "  a.data\n"
                + Models.sha256(new byte[] {4}) + "  b.data\n";
        assertThat(new ModelFile("m", m, side).sha256()).isEqualTo(Models.sha256(listing.getBytes(
                StandardCharsets.UTF_8)));
        ModelFile travelled = (ModelFile) javaRoundTrip(new ModelFile("m", m, side)); // as a Spark broadcast
        assertThat(travelled.sha256()).isEqualTo(new ModelFile("m", m, side).sha256());
        assertThat(travelled.sideFiles()).containsOnlyKeys("a.data", "b.data");
        side.put("b.data", new byte[] {6});
        assertThat(new ModelFile("m", m, side).sha256()).isNotEqualTo(Models.sha256(listing.getBytes(
                StandardCharsets.UTF_8)));
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
                .hasMessage("not a DL4J zip, Keras archive, Keras HDF5 or ONNX model: hdfs:/m/teacher (11 bytes, starting 6e 6f 74 20 61"
                        + " 20 6d 6f)");
        assertThatThrownBy(() -> ModelFormat.detect(new byte[0], "empty"))
                .hasMessage("not a DL4J zip, Keras archive, Keras HDF5 or ONNX model: empty (0 bytes)");
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
                        + " teachers; DL4J zips and Keras files are read everywhere)");
    }

    @Test
    void onnxRuntimeThreadsFollowOmpNumThreads() {
        assertThat(OnnxTeacher.threads(null)).isEqualTo(1);
        assertThat(OnnxTeacher.threads(" 4 ")).isEqualTo(4);
        assertThat(OnnxTeacher.threads("0")).isEqualTo(1);
        assertThat(OnnxTeacher.threads("many")).isEqualTo(1);
    }

    private static Object javaRoundTrip(Object o) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
                out.writeObject(o);
            }
            try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(
                    new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
                return in.readObject();
            }
        } catch (java.io.IOException | ClassNotFoundException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] zip(String... names) throws java.io.IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bytes)) {
            for (String name : names) {
                z.putNextEntry(new java.util.zip.ZipEntry(name));
                z.write(name.getBytes(StandardCharsets.UTF_8));
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
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
