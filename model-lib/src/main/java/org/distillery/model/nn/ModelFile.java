package org.distillery.model.nn;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A model file's bytes together with the files it names beside it (an ONNX model's external data, by the relative
 * location the model records), so that a model read on the driver from any Hadoop filesystem travels to executors
 * whole. {@code source} names the file in messages.
 *
 * <p>{@link #sha256()} identifies the model: the SHA-256 of the file itself when it stands alone (as {@code sha256sum}
 * prints it), else the SHA-256 of a listing in {@code sha256sum}'s format, the model file's line first and then one
 * line per side file in order of location: {@code HEX  model\n} followed by {@code HEX  LOCATION\n}. A change to any
 * of the files changes it.
 */
public record ModelFile(String source, byte[] bytes, SortedMap<String, byte[]> sideFiles) implements Serializable {
    private static final long serialVersionUID = 1L;

    public ModelFile {
        sideFiles = Collections.unmodifiableSortedMap(new TreeMap<>(sideFiles == null ? Map.of() : sideFiles));
    }

    /** A model that is one file. */
    public ModelFile(String source, byte[] bytes) {
        this(source, bytes, null);
    }

    /** See the class comment. */
    public String sha256() {
        if (sideFiles.isEmpty()) {
            return Models.sha256(bytes);
        }
        StringBuilder listing = new StringBuilder(Models.sha256(bytes)).append("  model\n");
        sideFiles.forEach((location, data) -> listing.append(Models.sha256(data)).append("  ").append(location)
                .append('\n'));
        return Models.sha256(listing.toString().getBytes(StandardCharsets.UTF_8));
    }

    public ModelFormat format() {
        return ModelFormat.detect(bytes, source);
    }
}
