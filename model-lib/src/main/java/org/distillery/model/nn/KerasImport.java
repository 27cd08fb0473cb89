package org.distillery.model.nn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.deeplearning4j.nn.modelimport.keras.Hdf5Archive;
import org.deeplearning4j.nn.modelimport.keras.KerasModelImport;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Keras models saved as HDF5 ({@code model.save("teacher.h5")}: configuration and weights in one file), imported by
 * DL4J's Keras import into a MultiLayerNetwork so that they run like any other teacher (the fast dense path included).
 * A Sequential model imports directly; a functional Model imports as a ComputationGraph and is read when it is a single
 * chain of layers ({@link Models#chain}). Training configuration (loss, optimizer) is ignored: teachers are frozen.
 *
 * <p>DL4J reads HDF5 through the native HDF5 library, from a file: the bytes go to a temporary file for the import.
 * Imports are serialised, as the HDF5 library is not built thread-safe.
 */
final class KerasImport {
    private static final Object LOCK = new Object();

    private KerasImport() {
    }

    /**
     * The network in a Keras HDF5 file's bytes; {@code source} names it in messages.
     *
     * @throws IllegalStateException when the bytes are not a Keras model DL4J can import
     */
    static MultiLayerNetwork network(byte[] h5, String source) {
        Path file = null;
        try {
            file = Files.createTempFile("distillery-keras-", ".h5");
            Files.write(file, h5);
            synchronized (LOCK) {
                org.bytedeco.hdf5.Exception.dontPrint(); // errors come back as one exception, not a stderr dump
                if ("Sequential".equals(modelClass(file))) {
                    return KerasModelImport.importKerasSequentialModelAndWeights(file.toString(), false);
                }
                return Models.chain(KerasModelImport.importKerasModelAndWeights(file.toString(), false), source);
            }
        } catch (IllegalStateException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("ComputationGraph teacher ")) {
                throw e; // a graph that is not a chain: Models.chain's message says why
            }
            throw unreadable(source, e);
        } catch (Exception | Error e) {
            if (e instanceof VirtualMachineError vme) {
                throw vme;
            }
            throw unreadable(source, e);
        } finally {
            delete(file);
        }
    }

    /** The model's class name ("Sequential", "Model", "Functional") from the file's model_config attribute. */
    private static String modelClass(Path file) throws Exception {
        try (Hdf5Archive archive = new Hdf5Archive(file.toString())) {
            if (!archive.hasAttribute("model_config")) {
                throw new IllegalStateException("no model_config attribute (a weights-only file?)");
            }
            Map<?, ?> config = new com.fasterxml.jackson.databind.ObjectMapper().readValue(
                    archive.readAttributeAsJson("model_config"), Map.class);
            return String.valueOf(config.get("class_name"));
        }
    }

    private static IllegalStateException unreadable(String source, Throwable e) {
        return new IllegalStateException("not a readable Keras HDF5 model: " + source + " (" + e.getClass()
                .getSimpleName() + ": " + Models.firstLine(e) + ")", e);
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
