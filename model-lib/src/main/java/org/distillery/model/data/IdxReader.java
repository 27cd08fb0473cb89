package org.distillery.model.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads the IDX format of (Fashion-)MNIST (LeCun et al.): a big-endian header (magic 0x0000080N where N is the number of
 * dimensions, then each dimension's size) followed by unsigned bytes. Plain and gzip-compressed files are accepted.
 */
public final class IdxReader {
    private static final int UBYTE = 0x08;

    private IdxReader() {
    }

    /** Images as unsigned bytes, row-major [n][rows*cols]. */
    public static byte[][] readImages(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int[] dims = header(in, 3, file);
            int size = dims[1] * dims[2];
            byte[][] images = new byte[dims[0]][size];
            for (byte[] image : images) {
                readFully(in, image, file);
            }
            return images;
        }
    }

    /** Labels as ints in [0, 255]. */
    public static int[] readLabels(Path file) throws IOException {
        try (DataInputStream in = open(file)) {
            int[] dims = header(in, 1, file);
            byte[] raw = new byte[dims[0]];
            readFully(in, raw, file);
            int[] labels = new int[raw.length];
            for (int i = 0; i < raw.length; i++) {
                labels[i] = raw[i] & 0xFF;
            }
            return labels;
        }
    }

    private static DataInputStream open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("IDX file not found: " + file);
        }
        InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        raw.mark(2);
        boolean gzip = raw.read() == 0x1f & raw.read() == 0x8b;
        raw.reset();
        return new DataInputStream(gzip ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16)) : raw);
    }

    private static int[] header(DataInputStream in, int expectedDims, Path file) throws IOException {
        int magic = in.readInt();
        int type = (magic >> 8) & 0xFF;
        int dims = magic & 0xFF;
        if ((magic >>> 16) != 0 || type != UBYTE || dims != expectedDims) {
            throw new IllegalArgumentException(String.format(
                    "not an unsigned-byte IDX file with %d dimensions: %s (magic 0x%08x)", expectedDims, file, magic));
        }
        int[] sizes = new int[dims];
        for (int i = 0; i < dims; i++) {
            sizes[i] = in.readInt();
            if (sizes[i] < 0) {
                throw new IllegalArgumentException("negative IDX dimension " + sizes[i] + " in " + file);
            }
        }
        return sizes;
    }

    private static void readFully(DataInputStream in, byte[] buf, Path file) throws IOException {
        try {
            in.readFully(buf);
        } catch (EOFException e) {
            throw new IllegalArgumentException("IDX file is truncated: " + file, e);
        }
    }
}
