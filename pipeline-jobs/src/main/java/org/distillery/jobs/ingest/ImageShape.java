package org.distillery.jobs.ingest;

import java.io.Serializable;
import java.util.List;

/**
 * The shape images are decoded to, channels first: {@code C x H x W} with C = 1 (grey) or 3 (RGB).
 *
 * @param channels 1 or 3
 * @param height   rows
 * @param width    columns
 */
record ImageShape(int channels, int height, int width) implements Serializable {
    ImageShape {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("image channels must be 1 (grey) or 3 (RGB), got " + channels);
        }
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image height and width must be >= 1, got " + height + "x" + width);
        }
    }

    /** {@code --shape}: {@code CxHxW}, e.g. {@code 1x28x28} or {@code 3x32x32}. */
    static ImageShape parse(String text) {
        String[] p = text.strip().split("x");
        if (p.length != 3) {
            throw new IllegalArgumentException("--shape must be CxHxW (channels x height x width, e.g. 1x28x28),"
                    + " got '" + text + "'");
        }
        try {
            return new ImageShape(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--shape must be CxHxW (channels x height x width, e.g. 1x28x28),"
                    + " got '" + text + "'");
        }
    }

    int size() {
        return channels * height * width;
    }

    /** As the manifest records it: {@code [C, H, W]}. */
    List<Integer> dims() {
        return List.of(channels, height, width);
    }

    @Override
    public String toString() {
        return channels + "x" + height + "x" + width;
    }
}
