package org.distillery.model.nn;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;

/**
 * Models as bytes, so that jobs can move them through any Hadoop filesystem and hash them: DL4J zips written and read,
 * Keras (.keras archives, HDF5) and ONNX teachers read ({@link #teacher}).
 */
public final class Models {
    private Models() {
    }

    /** Serialises {@code net} as a DL4J model zip; the updater is kept only when training may resume from it. */
    public static byte[] toBytes(MultiLayerNetwork net, boolean withUpdater) {
        try (ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            ModelSerializer.writeModel(net, out, withUpdater);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Restores a MultiLayerNetwork from a DL4J model zip; a zip of a single-chain ComputationGraph is read as the
     * equivalent MultiLayerNetwork. {@code source} names the artefact in the error message.
     *
     * @throws IllegalStateException when the bytes are not a readable DL4J MultiLayerNetwork zip
     */
    public static MultiLayerNetwork fromBytes(byte[] zip, String source) {
        return fromBytes(zip, source, false);
    }

    /** As {@link #fromBytes(byte[], String)}; with {@code withUpdater} the updater state is restored too (resume). */
    public static MultiLayerNetwork fromBytes(byte[] zip, String source, boolean withUpdater) {
        try {
            if (isComputationGraph(zip)) {
                return chain(ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip), false), source);
            }
            return ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(zip), withUpdater);
        } catch (Exception | Error e) {
            if (e instanceof VirtualMachineError vme) {
                throw vme;
            }
            throw new IllegalStateException("not a readable DL4J MultiLayerNetwork model zip: " + source + " ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
    }

    /**
     * The network in a DL4J zip or a Keras file (a .keras archive or HDF5; see {@link ModelFormat#detect});
     * {@code source} names the file. A Keras image model reads channels-first rows ({@link KerasNetwork}).
     *
     * @throws IllegalArgumentException for an ONNX model (only the label job runs those), an unknown format, or a Keras
     *     model with what is not read (a layer type, activation, padding, ...)
     * @throws IllegalStateException when the bytes are not a readable model of their format
     */
    public static MultiLayerNetwork network(byte[] bytes, String source) {
        ModelFormat format = ModelFormat.detect(bytes, source);
        return switch (format) {
            case DL4J_ZIP -> fromBytes(bytes, source);
            case KERAS_ARCHIVE, KERAS_HDF5 -> KerasNetwork.read(bytes, format == ModelFormat.KERAS_ARCHIVE, source)
                    .network();
            case ONNX -> throw new IllegalArgumentException("ONNX model " + source + " cannot be read as a DL4J network"
                    + " (only label runs ONNX teachers; DL4J zips and Keras files are read everywhere)");
        };
    }

    /**
     * A teacher as a logit function, taking rows of the example shape {@code exampleShape} (channels-first
     * {@code [C, H, W]} or {@code [n_features]}; null: whatever the model declares): DL4J zips and Keras files as a
     * {@link LogitModel}, ONNX models as an ONNX Runtime session reading output {@code output} (null: the only one).
     * How rows meet the model's input is {@link InputShapes}'s rule.
     *
     * @throws IllegalArgumentException when the format is unknown, the model's input does not match the example shape
     *     (naming both), or its outputs or layers are not what is read
     * @throws IllegalStateException when the bytes are not a readable model of their format
     */
    public static LogitFunction teacher(ModelFile file, int[] exampleShape, String output) {
        ModelFormat format = file.format();
        String source = file.source();
        if (format == ModelFormat.ONNX) {
            return OnnxTeacher.load(file, exampleShape, output);
        }
        if (output != null) {
            throw new IllegalArgumentException("--teacher-output names an output of an ONNX teacher, but " + source
                    + " is a " + format.label());
        }
        if (format == ModelFormat.DL4J_ZIP) {
            LogitModel model = new LogitModel(fromBytes(file.bytes(), source));
            if (exampleShape != null) {
                InputShapes.feed(InputShapes.Declared.of(-1, model.inputShape()), exampleShape, false, source);
            }
            return model;
        }
        KerasNetwork.Built keras = KerasNetwork.read(file.bytes(), format == ModelFormat.KERAS_ARCHIVE, source);
        if (exampleShape != null) {
            keras.check(exampleShape, source);
        }
        return new LogitModel(keras.network());
    }

    /**
     * The external data files (locations relative to the model's directory) that an ONNX model's bytes name; empty
     * when it names none or does not parse (reading it then reports the damage).
     *
     * @throws IllegalArgumentException when a location points outside the model's directory
     */
    public static java.util.SortedSet<String> externalData(byte[] onnx, String source) {
        java.util.SortedSet<String> locations;
        try {
            locations = OnnxGraph.externalData(onnx);
        } catch (IllegalStateException damaged) {
            return new java.util.TreeSet<>();
        }
        locations.forEach(l -> ExternalDataDir.checkLocation(l, source));
        return locations;
    }

    /** A teacher that is one file, read as it declares its input ({@link #teacher(ModelFile, int[], String)}). */
    public static LogitFunction teacher(byte[] bytes, String source) {
        return teacher(new ModelFile(source, bytes), null, null);
    }

    /** The first line of a throwable's message, for one-line errors about a model file. */
    static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage()).strip();
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    /** Whether the zip holds a ComputationGraph (its configuration lists vertices), read without restoring it. */
    private static boolean isComputationGraph(byte[] zip) throws IOException {
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(new ByteArrayInputStream(zip))) {
            for (java.util.zip.ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                if (e.getName().equals("configuration.json")) {
                    String json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                    return json.contains("\"vertices\"") && json.contains("\"networkInputs\"");
                }
            }
        }
        return false;
    }

    /**
     * A ComputationGraph that is a single chain of layers (one input, one output, each layer fed by the previous one:
     * what a sequential model exported as a graph looks like) as the equivalent MultiLayerNetwork with the same
     * parameters, so that every job reads it like any other teacher. Other graphs are refused.
     */
    static MultiLayerNetwork chain(org.deeplearning4j.nn.graph.ComputationGraph graph, String source) {
        var conf = graph.getConfiguration();
        if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
            throw new IllegalStateException("ComputationGraph teacher " + source + " has " + conf.getNetworkInputs().size()
                    + " inputs and " + conf.getNetworkOutputs().size() + " outputs; only single-chain graphs are read");
        }
        java.util.List<org.deeplearning4j.nn.conf.NeuralNetConfiguration> layers = new java.util.ArrayList<>();
        java.util.Map<Integer, org.deeplearning4j.nn.conf.InputPreProcessor> preprocessors = new java.util.HashMap<>();
        String previous = conf.getNetworkInputs().get(0);
        while (layers.size() < conf.getVertices().size()) {
            String next = null;
            for (var e : conf.getVertexInputs().entrySet()) {
                if (e.getValue().contains(previous)) {
                    if (next != null || e.getValue().size() != 1) {
                        throw new IllegalStateException("ComputationGraph teacher " + source + " branches or merges at "
                                + previous + "; only single-chain graphs are read");
                    }
                    next = e.getKey();
                }
            }
            if (next == null || !(conf.getVertices().get(next)
                    instanceof org.deeplearning4j.nn.conf.graph.LayerVertex vertex)) {
                throw new IllegalStateException("ComputationGraph teacher " + source + " has a vertex after " + previous
                        + " that is not a layer; only single-chain graphs of layers are read");
            }
            if (vertex.getPreProcessor() != null) {
                preprocessors.put(layers.size(), vertex.getPreProcessor());
            }
            layers.add(vertex.getLayerConf().clone());
            previous = next;
        }
        MultiLayerNetwork net = new MultiLayerNetwork(new org.deeplearning4j.nn.conf.MultiLayerConfiguration.Builder()
                .confs(layers).inputPreProcessors(preprocessors).dataType(conf.getDataType()).build());
        net.init(graph.params().dup(), false);
        return net;
    }

    /** Lower-case hex SHA-256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
