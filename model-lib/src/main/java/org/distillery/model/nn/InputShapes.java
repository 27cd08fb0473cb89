package org.distillery.model.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a teacher's declared input takes the transfer set's rows, decided before any row is read. A row holds one
 * example flattened row-major in the transfer set's example shape ({@code TransferSchema.SHAPE}: {@code [C, H, W]}
 * channels-first, or {@code [n_features]}). In order, the first rule that fits decides:
 * <ol>
 * <li>the teacher's dimensions (batch axis aside) equal the example shape, a symbolic dimension matching any size:
 *     rows are fed as they are;</li>
 * <li>they hold the same values in the same order: equal once axes of size 1 are dropped ({@code [N, 28, 28, 1]} for
 *     {@code [1, 28, 28]}), or the teacher reads a flat vector of as many values, or the example is a vector
 *     {@code [D]} and the teacher's fixed dimensions hold D values: rows are fed as they are;</li>
 * <li>where the teacher may read channels-last (ONNX), the example is {@code [C, H, W]} and the teacher's input
 *     {@code [N, H, W, C]}: each row is transposed to H, W, C order.</li>
 * </ol>
 * Anything else is refused naming both shapes. An input that fits rules 1 and 3 alike ({@code [N, 3, 3, 3]} for
 * {@code [3, 3, 3]}, or symbolic spatial axes) is read channels-first, the convention of ONNX and PyTorch.
 */
final class InputShapes {
    private InputShapes() {
    }

    /** A teacher's declared input: batch size (-1 symbolic) and the other dimensions (-1 symbolic, named). */
    record Declared(long batch, long[] dims, String[] names) {
        static Declared of(long batch, long... dims) {
            return new Declared(batch, dims, new String[dims.length]);
        }

        /** As messages write it: {@code [N, 3, 32, 32]}, a symbolic axis by its name. */
        String describe() {
            List<String> parts = new ArrayList<>();
            parts.add(batch < 0 ? "N" : String.valueOf(batch));
            for (int i = 0; i < dims.length; i++) {
                parts.add(dims[i] >= 0 ? String.valueOf(dims[i]) : names[i] == null || names[i].isEmpty() ? "?"
                        : names[i]);
            }
            return "[" + String.join(", ", parts) + "]";
        }
    }

    /** How rows are fed: transposed to channels-last or not, and the dimensions (batch aside) each row takes. */
    record Feed(boolean channelsLast, long[] dims) {
        long width() {
            return Arrays.stream(dims).reduce(1, Math::multiplyExact);
        }
    }

    /**
     * The feed of {@code example} rows into {@code teacher} (see the class comment); {@code channelsLast} allows rule 3.
     *
     * @throws IllegalArgumentException naming both shapes and {@code source} when none fits
     */
    static Feed feed(Declared teacher, int[] example, boolean channelsLast, String source) {
        return feed(teacher, teacher.describe(), example, channelsLast, source);
    }

    /** As {@link #feed(Declared, int[], boolean, String)}, naming the teacher's input {@code shown} in the message. */
    static Feed feed(Declared teacher, String shown, int[] example, boolean channelsLast, String source) {
        long[] dims = teacher.dims();
        long[] ex = Arrays.stream(example).asLongStream().toArray();
        if (matches(dims, ex)) {
            return new Feed(false, ex);
        }
        boolean fixed = Arrays.stream(dims).allMatch(d -> d >= 0);
        long values = Arrays.stream(ex).reduce(1, Math::multiplyExact);
        if (fixed && (Arrays.equals(squeeze(dims), squeeze(ex)) || (dims.length == 1 || ex.length == 1)
                && Arrays.stream(dims).reduce(1, Math::multiplyExact) == values)) {
            return new Feed(false, dims);
        }
        long[] hwc = ex.length == 3 ? new long[] {ex[1], ex[2], ex[0]} : null;
        if (channelsLast && hwc != null && matches(dims, hwc)) {
            return new Feed(ex[0] > 1, hwc);
        }
        throw new IllegalArgumentException("teacher input " + shown + " does not match the transfer set's"
                + " example shape " + Arrays.toString(example) + ": " + source);
    }

    private static boolean matches(long[] dims, long[] shape) {
        if (dims.length != shape.length) {
            return false;
        }
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] >= 0 && dims[i] != shape[i]) {
                return false;
            }
        }
        return true;
    }

    private static long[] squeeze(long[] dims) {
        return Arrays.stream(dims).filter(d -> d != 1).toArray();
    }

    /**
     * Row {@code row} of {@code x} (rows of C*H*W values in C, H, W order) into {@code out} from {@code offset} in
     * H, W, C order.
     */
    static void toChannelsLast(float[] x, int row, int c, int h, int w, float[] out, int offset) {
        int plane = h * w;
        int from = row * c * plane;
        for (int ch = 0; ch < c; ch++) {
            for (int p = 0; p < plane; p++) {
                out[offset + p * c + ch] = x[from + ch * plane + p];
            }
        }
    }
}
