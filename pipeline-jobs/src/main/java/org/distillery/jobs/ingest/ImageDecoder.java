package org.distillery.jobs.ingest;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.util.Iterator;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.apache.spark.sql.Row;

/**
 * Image bytes (PNG, JPEG, or anything else javax.imageio reads) and rows of Spark's image source, decoded to one
 * example: channels first (C x H x W, row-major), raw sample values (0..255 for 8-bit images), as floats.
 *
 * <ul>
 *   <li>Channels: a grey image's stored samples as they are (16-bit grey keeps 0..65535); a colour or palette image as
 *       sRGB R, G, B; for C = 1 a colour image becomes its luma, {@code (19595 R + 38470 G + 7471 B + 32768) >> 16}
 *       (ITU-R 601-2, as Pillow's {@code convert("L")}); for C = 3 a grey image is repeated in R, G and B. Alpha is
 *       dropped.</li>
 *   <li>Size: with a declared shape, an image of another size is resized by bilinear interpolation (half-pixel
 *       centres, no antialiasing); without one, every image must have the size of the first (the error names the
 *       row).</li>
 * </ul>
 */
final class ImageDecoder implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Map<String, String> MAGIC = Map.of("89504e47", "png", "ffd8ff", "jpeg");
    /** One reader per format and thread: looking readers up per image costs more than decoding a 28x28 PNG. */
    private static final ThreadLocal<Map<String, ImageReader>> READERS = ThreadLocal.withInitial(java.util.HashMap::new);

    private final ImageShape shape;
    private final boolean resize;

    /**
     * @param shape  what every example must be
     * @param resize whether images of another size are resized to it (a declared {@code --shape}), or refused
     */
    ImageDecoder(ImageShape shape, boolean resize) {
        this.shape = shape;
        this.resize = resize;
    }

    ImageShape shape() {
        return shape;
    }

    /** Decoded pixels before fitting to the shape: channels first. */
    record Planes(float[] values, int channels, int height, int width) {
    }

    /** The example of encoded image bytes; {@code rowId} names the row in errors. */
    float[] fromBytes(byte[] bytes, String rowId) {
        return fit(decode(bytes, rowId), rowId);
    }

    /** The example of a row of Spark's image source (origin, height, width, nChannels, mode, data in BGR(A)). */
    float[] fromImageRow(Row image, String rowId) {
        return fit(imageRow(image, rowId), rowId);
    }

    /** The shape of the first image, when none is declared: its size, 1 channel if grey, else 3. */
    static ImageShape shapeOf(Planes p) {
        return new ImageShape(p.channels() == 1 ? 1 : 3, p.height(), p.width());
    }

    static Planes decode(byte[] bytes, String rowId) {
        if (bytes == null) {
            throw new IllegalArgumentException("null image bytes: row id " + rowId);
        }
        BufferedImage img;
        try {
            img = read(bytes);
        } catch (IOException | RuntimeException e) {
            throw unreadable(bytes, rowId, e.getMessage());
        }
        if (img == null) {
            throw unreadable(bytes, rowId, "no decoder for this format");
        }
        return planes(img);
    }

    static Planes imageRow(Row image, String rowId) {
        if (image == null) {
            throw new IllegalArgumentException("null image: row id " + rowId);
        }
        int h = image.getInt(image.fieldIndex("height"));
        int w = image.getInt(image.fieldIndex("width"));
        int c = image.getInt(image.fieldIndex("nChannels"));
        byte[] data = image.getAs("data");
        if (h <= 0 || w <= 0 || c <= 0 || data == null || data.length != h * w * c) {
            throw new IllegalArgumentException("unreadable image (Spark's image source could not decode it): row id "
                    + rowId);
        }
        int out = c == 1 ? 1 : 3;
        float[] v = new float[out * h * w];
        int plane = h * w;
        for (int i = 0; i < plane; i++) {
            if (out == 1) {
                v[i] = data[i] & 0xFF;
            } else { // stored B, G, R(, A)
                v[i] = data[i * c + 2] & 0xFF;
                v[plane + i] = data[i * c + 1] & 0xFF;
                v[2 * plane + i] = data[i * c] & 0xFF;
            }
        }
        return new Planes(v, out, h, w);
    }

    private static IllegalArgumentException unreadable(byte[] bytes, String rowId, String why) {
        StringBuilder head = new StringBuilder();
        for (int i = 0; i < Math.min(8, bytes.length); i++) {
            head.append(String.format("%02x", bytes[i]));
        }
        return new IllegalArgumentException("unreadable image bytes (" + why + "; " + bytes.length
                + " bytes starting 0x" + head + "): row id " + rowId);
    }

    private static BufferedImage read(byte[] bytes) throws IOException {
        String format = format(bytes);
        if (format == null) {
            return ImageIO.read(new ByteArrayInputStream(bytes)); // GIF, BMP, ...: whatever ImageIO finds
        }
        ImageReader reader = READERS.get().computeIfAbsent(format, f -> {
            Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(f);
            return it.hasNext() ? it.next() : null;
        });
        if (reader == null) {
            return ImageIO.read(new ByteArrayInputStream(bytes));
        }
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            return reader.read(0);
        } finally {
            reader.setInput(null);
        }
    }

    private static String format(byte[] bytes) {
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(4, bytes.length); i++) {
            hex.append(String.format("%02x", bytes[i]));
        }
        for (Map.Entry<String, String> m : MAGIC.entrySet()) {
            if (hex.toString().startsWith(m.getKey())) {
                return m.getValue();
            }
        }
        return null;
    }

    /** Grey images: their raster's first band as stored. Others: sRGB through the colour model (palettes included). */
    private static Planes planes(BufferedImage img) {
        int h = img.getHeight();
        int w = img.getWidth();
        int plane = h * w;
        if (img.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && !(img.getColorModel() instanceof java.awt.image.IndexColorModel)) {
            int[] s = img.getRaster().getSamples(0, 0, w, h, 0, (int[]) null);
            float[] v = new float[plane];
            for (int i = 0; i < plane; i++) {
                v[i] = s[i];
            }
            return new Planes(v, 1, h, w);
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        float[] v = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            v[i] = (argb[i] >> 16) & 0xFF;
            v[plane + i] = (argb[i] >> 8) & 0xFF;
            v[2 * plane + i] = argb[i] & 0xFF;
        }
        return new Planes(v, 3, h, w);
    }

    /** The decoded planes in this decoder's shape: channels converted, size checked or resized. */
    float[] fit(Planes p, String rowId) {
        if (p.height() != shape.height() || p.width() != shape.width()) {
            if (!resize) {
                throw new IllegalArgumentException("mixed image sizes: this image is " + p.height() + "x" + p.width()
                        + " (height x width), the first one " + shape.height() + "x" + shape.width()
                        + "; pass --shape CxHxW to resize them: row id " + rowId);
            }
            p = resized(p, shape.height(), shape.width());
        }
        return channels(p, shape.channels());
    }

    private static float[] channels(Planes p, int channels) {
        int plane = p.height() * p.width();
        float[] v = p.values();
        if (p.channels() == channels) {
            return v;
        }
        float[] out = new float[channels * plane];
        if (channels == 3) { // grey -> RGB
            for (int c = 0; c < 3; c++) {
                System.arraycopy(v, 0, out, c * plane, plane);
            }
        } else { // RGB -> luma, Pillow's integer formula (on 8-bit samples)
            for (int i = 0; i < plane; i++) {
                int r = (int) v[i];
                int g = (int) v[plane + i];
                int b = (int) v[2 * plane + i];
                out[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
            }
        }
        return out;
    }

    /** Bilinear resize of each channel, sampling at half-pixel centres (edges clamped), without antialiasing. */
    static Planes resized(Planes p, int height, int width) {
        int c = p.channels();
        int h = p.height();
        int w = p.width();
        float[] out = new float[c * height * width];
        for (int y = 0; y < height; y++) {
            double sy = Math.min(h - 1, Math.max(0, (y + 0.5) * h / height - 0.5));
            int y0 = (int) sy;
            int y1 = Math.min(h - 1, y0 + 1);
            double fy = sy - y0;
            for (int x = 0; x < width; x++) {
                double sx = Math.min(w - 1, Math.max(0, (x + 0.5) * w / width - 0.5));
                int x0 = (int) sx;
                int x1 = Math.min(w - 1, x0 + 1);
                double fx = sx - x0;
                for (int k = 0; k < c; k++) {
                    int base = k * h * w;
                    double top = p.values()[base + y0 * w + x0] * (1 - fx) + p.values()[base + y0 * w + x1] * fx;
                    double bottom = p.values()[base + y1 * w + x0] * (1 - fx) + p.values()[base + y1 * w + x1] * fx;
                    out[k * height * width + y * width + x] = (float) (top * (1 - fy) + bottom * fy);
                }
            }
        }
        return new Planes(out, c, height, width);
    }
}
