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

/** DL4J model zips as bytes, so that jobs can move them through any Hadoop filesystem and hash them. */
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
     * Restores a MultiLayerNetwork from a DL4J model zip. {@code source} names the artefact in the error message.
     *
     * @throws IllegalStateException when the bytes are not a readable DL4J MultiLayerNetwork zip
     */
    public static MultiLayerNetwork fromBytes(byte[] zip, String source) {
        return fromBytes(zip, source, false);
    }

    /** As {@link #fromBytes(byte[], String)}; with {@code withUpdater} the updater state is restored too (resume). */
    public static MultiLayerNetwork fromBytes(byte[] zip, String source, boolean withUpdater) {
        try {
            return ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(zip), withUpdater);
        } catch (Exception | Error e) {
            if (e instanceof VirtualMachineError vme) {
                throw vme;
            }
            throw new IllegalStateException("not a readable DL4J MultiLayerNetwork model zip: " + source + " ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
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
