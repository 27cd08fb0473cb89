package org.distillery.model.nn;

import java.util.Locale;

/**
 * The model file formats a teacher may come in, told apart by content first (a zip's entries: a DL4J model zip holds
 * {@code configuration.json}, a Keras 3 {@code .keras} archive {@code config.json} and {@code model.weights.h5}; HDF5's
 * signature), then by the file name's extension, then by parsing the bytes as an ONNX model, so that a Keras file named
 * {@code teacher.bin} still reads as Keras and a damaged file is reported in the format its name promises.
 */
public enum ModelFormat {
    DL4J_ZIP("DL4J zip"), KERAS_ARCHIVE("Keras archive"), KERAS_HDF5("Keras HDF5"), ONNX("ONNX");

    private static final byte[] ZIP = {'P', 'K', 3, 4};
    private static final byte[] HDF5 = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

    private final String label;

    ModelFormat(String label) {
        this.label = label;
    }

    /** A human-readable name for messages: "DL4J zip", "Keras HDF5", "ONNX". */
    public String label() {
        return label;
    }

    /**
     * The format of {@code bytes}, read from the file {@code name}.
     *
     * @throws IllegalArgumentException when neither content nor name says which format it is
     */
    public static ModelFormat detect(byte[] bytes, String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (startsWith(bytes, ZIP, 0)) {
            return zip(bytes, name, lower.endsWith(".keras") ? KERAS_ARCHIVE : DL4J_ZIP);
        }
        if (hdf5(bytes)) {
            return KERAS_HDF5;
        }
        if (lower.endsWith(".zip")) {
            return DL4J_ZIP;
        }
        if (lower.endsWith(".keras")) {
            return KERAS_ARCHIVE;
        }
        if (lower.endsWith(".h5") || lower.endsWith(".hdf5")) {
            return KERAS_HDF5;
        }
        if (lower.endsWith(".onnx") || OnnxGraph.parses(bytes)) {
            return ONNX;
        }
        throw new IllegalArgumentException("not a DL4J zip, Keras archive, Keras HDF5 or ONNX model: " + name + " (" + bytes.length
                + " bytes" + (bytes.length == 0 ? "" : ", starting " + hex(bytes)) + ")");
    }

    /**
     * Which zip {@code bytes} is, by its entries; a zip whose entries cannot be listed (damaged) is taken as
     * {@code byName}, the format its name promises, so that reading it reports the damage.
     */
    private static ModelFormat zip(byte[] bytes, String name, ModelFormat byName) {
        java.util.Set<String> entries = new java.util.TreeSet<>();
        try (java.util.zip.ZipInputStream in = new java.util.zip.ZipInputStream(
                new java.io.ByteArrayInputStream(bytes))) {
            for (java.util.zip.ZipEntry e = in.getNextEntry(); e != null && entries.size() < 1000; e = in.getNextEntry()) {
                switch (e.getName()) {
                    case "configuration.json" -> {
                        return DL4J_ZIP;
                    }
                    case "config.json", "metadata.json" -> {
                        return KERAS_ARCHIVE; // model.weights.h5 may be missing from a damaged one: reading says so
                    }
                    default -> entries.add(e.getName());
                }
            }
        } catch (java.io.IOException | IllegalArgumentException e) {
            // a damaged zip: what was listed before the damage still tells the format, else the name does
        }
        if (entries.isEmpty()) {
            return byName;
        }
        throw new IllegalArgumentException("a zip that is neither a DL4J model zip (configuration.json) nor a Keras"
                + " archive (config.json, model.weights.h5): " + name + " holds " + String.join(", ",
                entries.stream().limit(5).toList()) + (entries.size() > 5 ? ", ..." : ""));
    }

    /** HDF5's signature sits at offset 0, or 512, 1024, 2048, ... when the file begins with a user block. */
    private static boolean hdf5(byte[] bytes) {
        for (long at = 0; at + HDF5.length <= bytes.length; at = at == 0 ? 512 : at * 2) {
            if (startsWith(bytes, HDF5, (int) at)) {
                return true;
            }
        }
        return false;
    }

    private static boolean startsWith(byte[] bytes, byte[] prefix, int at) {
        if (bytes.length < at + prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (bytes[at + i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static String hex(byte[] bytes) {
        return java.util.HexFormat.ofDelimiter(" ").formatHex(bytes, 0, Math.min(8, bytes.length));
    }
}
