package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.ingest.IngestConfig.Format;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images as PNG/JPEG bytes in a column, or as a folder read by Spark's binaryFile and image sources. */
class IngestImagesTest extends SparkTestBase {
    @TempDir
    Path dir;

    /** A w x h image whose sample (x, y, band) is a function of the seed: a test can recompute every pixel. */
    static BufferedImage image(int w, int h, int type, int seed) {
        BufferedImage img = new BufferedImage(w, h, type);
        int bands = img.getRaster().getNumBands();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int b = 0; b < bands; b++) {
                    img.getRaster().setSample(x, y, b, sample(x, y, b, seed));
                }
            }
        }
        return img;
    }

    static int sample(int x, int y, int band, int seed) {
        return (x * 37 + y * 11 + band * 70 + seed * 13) % 256;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).isTrue();
        return out.toByteArray();
    }

    private Map<Long, float[]> features(String path) {
        Map<Long, float[]> m = new HashMap<>();
        TransferTables.readTransfer(spark(), path).rows().collectAsList()
                .forEach(r -> m.put(r.getLong(0), TransferTables.floats(r, 1)));
        return m;
    }

    @Test
    void pngBytesInAColumnAreDecodedChannelsFirstAndScaled() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(RowFactory.create((long) i, i % 2 == 0 ? "grey" : "rgb",
                    encode(image(6, 4, BufferedImage.TYPE_BYTE_GRAY, i), "png"),
                    encode(image(6, 4, BufferedImage.TYPE_3BYTE_BGR, i), "png")));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("kind", DataTypes.StringType)
                .add("grey", DataTypes.BinaryType).add("colour", DataTypes.BinaryType);
        String source = dir.resolve("images.parquet").toString();
        spark().createDataFrame(rows, schema).write().parquet(source);

        String grey = dir.resolve("grey").toString();
        new IngestJob(spark()).run(IngestConfig.builder().source(source, Format.PARQUET).id("id").label("kind")
                .features("grey").scale("1/255").out(grey).build());
        Manifest m = TransferTables.readTransfer(spark(), grey).manifest();
        assertThat(TransferSchema.shape(m)).containsExactly(1, 4, 6);
        float[] g = features(grey).get(3L);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 6; x++) {
                assertThat(g[y * 6 + x]).isEqualTo(sample(x, y, 0, 3) / 255f);
            }
        }

        String colour = dir.resolve("colour").toString();
        new IngestJob(spark()).run(IngestConfig.builder().source(source, Format.PARQUET).id("id").label("kind")
                .features("colour").out(colour).build());
        assertThat(TransferSchema.shape(TransferTables.readTransfer(spark(), colour).manifest()))
                .containsExactly(3, 4, 6);
        float[] c = features(colour).get(5L);
        BufferedImage original = image(6, 4, BufferedImage.TYPE_3BYTE_BGR, 5);
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 6; x++) {
                int rgb = original.getRGB(x, y);
                assertThat(new float[] {c[y * 6 + x], c[24 + y * 6 + x], c[48 + y * 6 + x]})
                        .containsExactly((rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF);
            }
        }

        // --shape converts colour to grey (Pillow's luma) and resizes
        String small = dir.resolve("small").toString();
        new IngestJob(spark()).run(IngestConfig.builder().source(source, Format.PARQUET).id("id").label("kind")
                .features("colour").shape("1x2x3").out(small).build());
        float[] s = features(small).get(5L);
        assertThat(s).hasSize(6);
        ImageDecoder.Planes planes = ImageDecoder.decode(encode(original, "png"), "x");
        ImageDecoder.Planes resized = ImageDecoder.resized(planes, 2, 3);
        for (int i = 0; i < 6; i++) {
            int r = (int) resized.values()[i];
            int gr = (int) resized.values()[6 + i];
            int b = (int) resized.values()[12 + i];
            assertThat(s[i]).isEqualTo((float) ((r * 19595 + gr * 38470 + b * 7471 + 0x8000) >> 16));
        }
    }

    @Test
    void aFolderOfImagesThroughBinaryFileAndSparksImageSourceWithLabelsFromTheFolderNames() throws IOException {
        Path folder = dir.resolve("pictures");
        for (int i = 0; i < 12; i++) {
            Path f = folder.resolve("animal=" + (i % 3 == 0 ? "cat" : "dog")).resolve("img-" + i + ".png");
            Files.createDirectories(f.getParent());
            Files.write(f, encode(image(5, 5, BufferedImage.TYPE_BYTE_GRAY, i), "png"));
        }
        String viaBytes = dir.resolve("bytes").toString();
        new IngestJob(spark()).run(IngestConfig.builder().source(folder.toString(), Format.BINARY_FILE)
                .label("animal").out(viaBytes).build());
        String viaImages = dir.resolve("images").toString();
        new IngestJob(spark()).run(IngestConfig.builder().source(folder.toString(), Format.IMAGE)
                .label("animal").out(viaImages).build());

        Manifest m = TransferTables.readTransfer(spark(), viaBytes).manifest();
        assertThat(TransferSchema.classNames(m)).containsExactly("cat", "dog");
        assertThat(TransferSchema.shape(m)).containsExactly(1, 5, 5);
        assertThat(m.text("ids")).contains("xxhash64(path)");
        // both sources decode the same pixels; ids are the hash of each file's path (as the source reports it)
        Map<Long, float[]> bytes = features(viaBytes);
        Map<Long, float[]> images = features(viaImages);
        assertThat(bytes).hasSize(12);
        Map<String, Long> byPath = new HashMap<>();
        spark().read().format("binaryFile").load(folder.toString())
                .select(functions.col("path"), functions.xxhash64(functions.col("path"))).collectAsList()
                .forEach(r -> byPath.put(name(r.getString(0)), r.getLong(1)));
        Map<String, Long> byOrigin = new HashMap<>();
        spark().read().format("image").load(folder.toString())
                .select(functions.col("image.origin"), functions.xxhash64(functions.col("image.origin")))
                .collectAsList().forEach(r -> byOrigin.put(name(r.getString(0)), r.getLong(1)));
        for (String path : byPath.keySet()) {
            float[] fromImageSource = images.get(byOrigin.get(path));
            assertThat(fromImageSource).as(path).isNotNull().isEqualTo(bytes.get(byPath.get(path)));
            int i = Integer.parseInt(path.replaceAll("img-(\\d+)\\.png", "$1"));
            assertThat(bytes.get(byPath.get(path))[7]).isEqualTo(sample(2, 1, 0, i));
        }
    }

    /** A file's name: the binaryFile and image sources may spell the same path differently (file:/ or file:///). */
    private static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    @Test
    void jpegBytesDecodeToo() throws IOException {
        byte[] jpeg = encode(image(8, 8, BufferedImage.TYPE_3BYTE_BGR, 1), "jpeg");
        ImageDecoder.Planes p = ImageDecoder.decode(jpeg, "j");
        assertThat(p.channels()).isEqualTo(3);
        assertThat(p.height()).isEqualTo(8);
        float[] expected = ImageDecoder.decode(encode(image(8, 8, BufferedImage.TYPE_3BYTE_BGR, 1), "png"), "p")
                .values();
        double error = 0;
        for (int i = 0; i < expected.length; i++) {
            error += Math.abs(expected[i] - p.values()[i]);
        }
        assertThat(error / expected.length).as("mean abs error of a lossy JPEG").isLessThan(40);
    }

    @Test
    void bilinearResizeSamplesAtHalfPixelCentres() {
        ImageDecoder.Planes p = new ImageDecoder.Planes(new float[] {0, 10, 20, 30}, 1, 2, 2);
        // 2x2 -> 4x4: centres at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1) in source pixels
        assertThat(ImageDecoder.resized(p, 4, 4).values()).containsExactly(
                0f, 2.5f, 7.5f, 10f, 5f, 7.5f, 12.5f, 15f, 15f, 17.5f, 22.5f, 25f, 20f, 22.5f, 27.5f, 30f);
        assertThat(ImageDecoder.resized(p, 1, 1).values()).containsExactly(15f);
    }
}
