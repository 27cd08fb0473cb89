package org.distillery.model.nn;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A Keras model's configuration and weights as saved by {@code model.save}, in either layout:
 * <ul>
 * <li>a Keras 3 {@code .keras} archive: a zip of {@code config.json} and {@code model.weights.h5}, whose weights sit in
 *     {@code layers/<path>/vars/0, 1, ...} in the layer's own order (kernel, bias; gamma, beta, moving mean and
 *     variance), where a layer's path is not its name but its class in snake case, numbered among the model's layers
 *     of that class ({@code conv2d}, {@code conv2d_1}, ...; Keras's saving_lib);</li>
 * <li>an HDF5 file (Keras 2, or Keras 3's legacy {@code .h5}): the {@code model_config} attribute, and weights under
 *     {@code model_weights/<layer name>/...}, each dataset named by its weight ({@code kernel}, Keras 2's
 *     {@code kernel:0}).</li>
 * </ul>
 * Weights are read once into memory; {@link #weight} looks one up by name (HDF5) or position (archive). HDF5 is read
 * through the native library from a temporary file, one file at a time (the library is not built thread-safe).
 */
final class KerasFile {
    private static final Object LOCK = new Object();
    private final Map<String, Object> config;
    private final boolean archive;
    private final Map<String, Map<String, INDArray>> weights;

    private KerasFile(Map<String, Object> config, boolean archive, Map<String, Map<String, INDArray>> weights) {
        this.config = config;
        this.archive = archive;
        this.weights = weights;
    }

    /** The model's configuration: {@code {"class_name": "Sequential" | "Functional" | "Model", "config": ...}}. */
    Map<String, Object> config() {
        return config;
    }

    /**
     * Weight {@code name} ({@code kernel}, {@code bias}, {@code gamma}, ...) of layer {@code layer}, which is the
     * {@code index}-th of the layer's weights; null when the layer has no such weight.
     */
    INDArray weight(String layer, String name, int index) {
        Map<String, INDArray> w = weights.getOrDefault(layer, Map.of());
        return w.get(archive ? String.valueOf(index) : name);
    }

    /** How many weights layer {@code layer} has. */
    int weightCount(String layer) {
        return weights.getOrDefault(layer, Map.of()).size();
    }

    /**
     * Reads a {@link ModelFormat#KERAS_ARCHIVE} or {@link ModelFormat#KERAS_HDF5} file: the configuration, which
     * {@code layers} checks and maps to the layers whose weights are then read, by name, each with its path in an
     * archive (so that a layer that is not read is refused by name before its weights are looked at).
     *
     * @throws IllegalStateException when the bytes are not a readable Keras model of that layout
     * @throws IllegalArgumentException as {@code layers} throws it
     */
    static KerasFile read(byte[] bytes, boolean archive, String source,
                          java.util.function.Function<Map<String, Object>, Map<String, String>> layers) {
        Path file = null;
        try {
            byte[] h5 = bytes;
            Map<String, Object> config = null;
            if (archive) {
                Map<String, byte[]> entries = unzip(bytes);
                if (!entries.containsKey("config.json") || !entries.containsKey("model.weights.h5")) {
                    throw new IllegalStateException("config.json or model.weights.h5 missing");
                }
                config = json(new String(entries.get("config.json"), java.nio.charset.StandardCharsets.UTF_8));
                h5 = entries.get("model.weights.h5");
            }
            file = Files.createTempFile("distillery-keras-", ".h5");
            Files.write(file, h5);
            synchronized (LOCK) {
                org.bytedeco.hdf5.Exception.dontPrint(); // errors come back as one exception, not a stderr dump
                try (Hdf5Archive hdf5 = new Hdf5Archive(file.toString())) {
                    if (!archive) {
                        if (!hdf5.hasAttribute("model_config")) {
                            throw new IllegalStateException("no model_config attribute (a weights-only file?)");
                        }
                        config = json(hdf5.readAttributeAsJson("model_config"));
                    }
                    Map<String, String> read = layers.apply(config);
                    return new KerasFile(config, archive, archive ? archiveWeights(hdf5, read)
                            : hdf5Weights(hdf5, read));
                }
            }
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (IllegalStateException e) {
            throw unreadable(archive, source, e);
        } catch (Exception | Error e) {
            if (e instanceof VirtualMachineError vme) {
                throw vme;
            }
            throw unreadable(archive, source, e);
        } finally {
            delete(file);
        }
    }

    /** {@code layers/<path>/vars/<i>} of a .keras archive's weights file, by layer name. */
    private static Map<String, Map<String, INDArray>> archiveWeights(Hdf5Archive h5, Map<String, String> read)
            throws Exception {
        Map<String, Map<String, INDArray>> out = new HashMap<>();
        List<String> present = h5.getGroups().contains("layers") ? h5.getGroups("layers") : List.of();
        for (Map.Entry<String, String> layer : read.entrySet()) {
            String path = layer.getValue();
            Map<String, INDArray> vars = new HashMap<>();
            if (present.contains(path) && h5.getGroups("layers", path).contains("vars")) {
                for (String v : h5.getDataSets("layers", path, "vars")) {
                    vars.put(v, h5.readDataSet(v, "layers", path, "vars"));
                }
            }
            out.put(layer.getKey(), vars);
        }
        return out;
    }

    /** Every dataset under {@code model_weights/<layer>/}, by its name without Keras 2's {@code :0}. */
    private static Map<String, Map<String, INDArray>> hdf5Weights(Hdf5Archive h5, Map<String, String> read)
            throws Exception {
        Map<String, Map<String, INDArray>> out = new HashMap<>();
        if (!h5.getGroups().contains("model_weights")) {
            throw new IllegalStateException("no model_weights group (saved without weights?)");
        }
        for (String layer : h5.getGroups("model_weights")) {
            if (!read.containsKey(layer)) {
                continue;
            }
            Map<String, INDArray> named = new HashMap<>();
            collect(h5, new ArrayList<>(List.of("model_weights", layer)), named);
            out.put(layer, named);
        }
        return out;
    }

    private static void collect(Hdf5Archive h5, List<String> group, Map<String, INDArray> into) throws Exception {
        String[] path = group.toArray(String[]::new);
        for (String d : h5.getDataSets(path)) {
            into.put(d.endsWith(":0") ? d.substring(0, d.length() - 2) : d, h5.readDataSet(d, path));
        }
        for (String g : h5.getGroups(path)) {
            group.add(g);
            collect(h5, group, into);
            group.remove(group.size() - 1);
        }
    }

    private static Map<String, byte[]> unzip(byte[] bytes) throws IOException {
        Map<String, byte[]> entries = new HashMap<>();
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(bytes))) {
            for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                entries.put(e.getName(), in.readAllBytes());
            }
        }
        return entries;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(String text) throws IOException {
        int end = text.indexOf('\0');
        return new ObjectMapper().readValue(end < 0 ? text : text.substring(0, end), Map.class);
    }

    private static IllegalStateException unreadable(boolean archive, String source, Throwable e) {
        return new IllegalStateException("not a readable " + (archive ? "Keras archive" : "Keras HDF5 model") + ": "
                + source + " (" + e.getClass().getSimpleName() + ": " + Models.firstLine(e) + ")", e);
    }

    private static void delete(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete the temporary copy " + file, e);
            }
        }
    }
}
