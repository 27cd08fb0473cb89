package org.distillery.jobs.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.distillery.model.nn.LogitFunction;
import org.distillery.model.nn.ModelFormat;
import org.distillery.model.nn.Models;
import org.distillery.model.schema.Manifest;

/**
 * A model as an input: the file's bytes, their SHA-256, and the manifest of the output that holds it when there is one.
 * {@code path} is either a published model directory (holding {@value #FILE}, or {@value #ONNX_FILE} for a published
 * export) or a bare model file: a DL4J zip, a Keras HDF5 file or an ONNX model (see {@link ModelFormat}).
 * {@code zipPath} is the file read, whatever its format.
 */
public record ModelArtifact(String path, String zipPath, byte[] bytes, String sha256, Manifest manifest) {
    public static final String FILE = "model.zip";
    /** The fp32 graph of a published export directory (export's int8 graph is read as a bare file). */
    public static final String ONNX_FILE = "model.onnx";
    private static final String[] MODEL_FILE_SUFFIXES = {".zip", ".h5", ".hdf5", ".onnx"};

    public static ModelArtifact read(Storage storage, String path) {
        boolean bareFile = isBareFile(storage, path);
        Manifest manifest = bareFile ? null : storage.publishedManifest(path);
        String file = bareFile ? path : path + "/" + (!storage.exists(path + "/" + FILE)
                && storage.exists(path + "/" + ONNX_FILE) ? ONNX_FILE : FILE);
        byte[] bytes = storage.readBytes(file);
        return new ModelArtifact(storage.qualify(path), storage.qualify(file), bytes, Models.sha256(bytes), manifest);
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

    public ModelFormat format() {
        return ModelFormat.detect(bytes, zipPath);
    }

    /** The network of a DL4J zip or Keras HDF5 file; an ONNX model is refused with a message naming the file. */
    public MultiLayerNetwork network() {
        return Models.network(bytes, zipPath);
    }

    /** The model as a teacher, in any of the formats. */
    public LogitFunction teacher() {
        return Models.teacher(bytes, zipPath);
    }

    public Manifest.Input asInput() {
        return new Manifest.Input(path, manifest == null ? null : manifest.id());
    }
}
