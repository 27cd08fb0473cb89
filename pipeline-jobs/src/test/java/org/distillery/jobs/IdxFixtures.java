package org.distillery.jobs;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Writes tiny Fashion-MNIST-shaped IDX files (gzip), so ingest and the demo can run without the real dataset. */
public final class IdxFixtures {
    private IdxFixtures() {
    }

    /**
     * A source directory with {@code train} and {@code test} rows of {@code side x side} images over 10 classes; each
     * class lights a different band of pixels, so models can learn it.
     */
    public static Path write(Path dir, int train, int test, int side, long seed) throws IOException {
        Files.createDirectories(dir);
        Random rng = new Random(seed);
        split(dir, "train", train, side, rng);
        split(dir, "t10k", test, side, rng);
        return dir;
    }

    private static void split(Path dir, String prefix, int n, int side, Random rng) throws IOException {
        byte[] labels = new byte[n];
        byte[][] images = new byte[n][side * side];
        for (int i = 0; i < n; i++) {
            int c = i % 10;
            labels[i] = (byte) c;
            for (int p = 0; p < side * side; p++) {
                boolean band = p % 10 == c;
                int v = band ? 150 + rng.nextInt(106) : rng.nextInt(90);
                images[i][p] = (byte) v;
            }
        }
        try (DataOutputStream out = gz(dir.resolve(prefix + "-images-idx3-ubyte.gz"))) {
            out.writeInt(0x00000803);
            out.writeInt(n);
            out.writeInt(side);
            out.writeInt(side);
            for (byte[] img : images) {
                out.write(img);
            }
        }
        try (DataOutputStream out = gz(dir.resolve(prefix + "-labels-idx1-ubyte.gz"))) {
            out.writeInt(0x00000801);
            out.writeInt(n);
            out.write(labels);
        }
    }

    private static DataOutputStream gz(Path p) throws IOException {
        OutputStream raw = Files.newOutputStream(p);
        return new DataOutputStream(new GZIPOutputStream(raw));
    }
}
