package org.distillery.jobs.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.ModelFile;
import org.distillery.model.nn.ModelFormat;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;

/**
 * A model as an input: the file's bytes (with the external data files an ONNX model names beside it, read through the
 * same Hadoop filesystem), their SHA-256 ({@link ModelFile#sha256()}), and the manifest of the output that holds it
 * when there is one. {@code path} is either a published model directory (holding {@value #FILE}, or
 * {@value #ONNX_FILE} for a published export) or a bare model file: a DL4J zip, a Keras archive ({@code .keras}) or
 * HDF5 file, or an ONNX model (see {@link ModelFormat}).
 * {@code zipPath} is the file read, whatever its format.
 */
public record ModelArtifact(String path, String zipPath, ModelFile file, String sha256, Manifest manifest) {
    public static final String FILE = "model.zip";
    /** The fp32 graph of a published export directory (export's int8 graph is read as a bare file). */
    public static final String ONNX_FILE = "model.onnx";
    private static final String[] MODEL_FILE_SUFFIXES = {".zip", ".keras", ".h5", ".hdf5", ".onnx"};

    public static ModelArtifact read(Storage storage, String path) {
        boolean bareFile = isBareFile(storage, path);
        Manifest manifest = bareFile ? null : storage.publishedManifest(path);
        String file = bareFile ? path : path + "/" + (!storage.exists(path + "/" + FILE)
                && storage.exists(path + "/" + ONNX_FILE) ? ONNX_FILE : FILE);
        String qualified = storage.qualify(file);
        byte[] bytes = storage.readBytes(file);
        ModelFile model = new ModelFile(qualified, bytes, sideFiles(storage, qualified, bytes));
        return new ModelArtifact(bareFile ? qualified : storage.qualify(path), qualified, model, model.sha256(),
                manifest);
    }

    /** The external data files an ONNX model names, read from beside it; none for other formats. */
    private static SortedMap<String, byte[]> sideFiles(Storage storage, String file, byte[] bytes) {
        SortedMap<String, byte[]> side = new TreeMap<>();
        ModelFormat format;
        try {
            format = ModelFormat.detect(bytes, file);
        } catch (IllegalArgumentException unknown) {
            return side; // reading the model reports it
        }
        if (format != ModelFormat.ONNX) {
            return side;
        }
        String dir = new Path(file).getParent().toString();
        for (String location : Models.externalData(bytes, file)) {
            String at = dir + "/" + location;
            if (!storage.exists(at)) {
                throw new IllegalArgumentException("ONNX model " + file + " keeps weights in an external data file"
                        + " that was not found beside it: " + at);
            }
            side.put(location, storage.readBytes(at));
        }
        return side;
    }

    /** A model file named by its extension, or any existing file (its format is then read from its content). */
    private static boolean isBareFile(Storage storage, String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        for (String suffix : MODEL_FILE_SUFFIXES) {
            if (lower.endsWith(suffix)) {
                return true;
            }
        }
        try {
            return storage.exists(path) && storage.fs(path).getFileStatus(new Path(path)).isFile();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check " + path, e);
        }
    }

    public byte[] bytes() {
        return file.bytes();
    }

    public ModelFormat format() {
        return file.format();
    }

    /** The network of a DL4J zip or Keras file; an ONNX model is refused with a message naming the file. */
    public MultiLayerNetwork network() {
        return Models.network(file.bytes(), zipPath);
    }

    /**
     * The model as a teacher, in any of the formats, taking rows of {@code exampleShape} and, for an ONNX model,
     * reading output {@code output} (null: its only one).
     */
    public LogitFunction teacher(int[] exampleShape, String output) {
        return Models.teacher(file, exampleShape, output);
    }

    public Manifest.Input asInput() {
        return new Manifest.Input(path, manifest == null ? null : manifest.id());
    }
}
