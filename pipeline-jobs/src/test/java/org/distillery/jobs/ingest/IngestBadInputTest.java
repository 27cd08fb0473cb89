package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each kind of bad input, through the real command line: exit code 2, one line on stderr naming the problem, the value
 * and the row id, and nothing published (no output directory, no staging directory left beside it).
 */
class IngestBadInputTest extends SparkTestBase {
    @TempDir
    Path dir;

    /** id (string), y (string), f (array of doubles, may be null), png (binary, may be null). */
    private String parquet(List<Row> rows) {
        StructType schema = new StructType().add("id", DataTypes.StringType).add("y", DataTypes.StringType)
                .add("f", DataTypes.createArrayType(DataTypes.DoubleType)).add("png", DataTypes.BinaryType);
        String path = dir.resolve("in.parquet").toString();
        spark().createDataFrame(rows, schema).coalesce(1).write().parquet(path);
        return path;
    }

    private static Row row(String id, String y, double[] f) {
        return RowFactory.create(id, y, f == null ? null : Arrays.stream(f).boxed().toList(), null);
    }

    private static List<Row> good(int n) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(row("r" + i, i % 2 == 0 ? "cat" : "dog", new double[] {i, 1, 2}));
        }
        return rows;
    }

    static byte[] png(int width, int height, int type) {
        BufferedImage img = new BufferedImage(width, height, type);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.getRaster().setSample(x, y, 0, (x * 31 + y * 7) % 256);
            }
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs ingest of {@code source} (Parquet) with {@code more} flags and checks the refusal; returns the message. */
    private String refused(String source, String... more) throws IOException {
        List<String> args = new ArrayList<>(List.of("ingest", "--format", "parquet", "--source", source, "--out",
                dir.resolve("out").toString()));
        args.addAll(List.of(more));
        CliRun r = CliRun.of(args);
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        List<String> lines = r.err().strip().lines().toList();
        assertThat(lines).as(r.err()).hasSize(1);
        assertThat(lines.get(0)).startsWith("distill ingest: error: ");
        assertThat(dir.resolve("out")).doesNotExist();
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".out"));
        }
        return lines.get(0);
    }

    @Test
    void duplicateIds() throws IOException {
        List<Row> rows = good(20);
        rows.add(row("r7", "cat", new double[] {0, 0, 0}));
        assertThat(refused(parquet(rows), "--id", "id", "--label", "y", "--features", "f"))
                .endsWith("duplicate id 'r7': 2 rows have it in id column 'id' (ids must be unique)");
    }

    @Test
    void unknownClassValues() throws IOException {
        List<Row> rows = good(20);
        rows.set(5, row("r5", "zebra", new double[] {1, 2, 3}));
        assertThat(refused(parquet(rows), "--id", "id", "--label", "y", "--features", "f", "--classes", "cat,dog"))
                .endsWith("label 'zebra' in column 'y' is not one of the classes [cat, dog] (--classes); 1 row(s)"
                        + " have it: row id 'r5'");
    }

    @Test
    void nullFeatures() throws IOException {
        List<Row> rows = good(20);
        rows.set(11, row("r11", "dog", null));
        assertThat(refused(parquet(rows), "--id", "id", "--label", "y", "--features", "f"))
                .endsWith("null features in column 'f': row id 'r11'");
    }

    @Test
    void nullFeatureValuesNaNAndVectorLengthMismatch() throws IOException {
        List<Row> rows = good(20);
        rows.set(4, RowFactory.create("r4", "cat", Arrays.asList(1.0, null, 3.0), null));
        assertThat(refused(parquet(rows), "--id", "id", "--features", "f", "--classes", "cat,dog", "--label", "y"))
                .endsWith("null feature value at index 1 of column 'f': row id 'r4'");
        Files.walk(dir.resolve("in.parquet")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        rows = good(20);
        rows.set(9, row("r9", "cat", new double[] {1, Double.NaN, 3}));
        assertThat(refused(parquet(rows), "--id", "id", "--features", "f", "--label", "y"))
                .endsWith("feature value NaN at index 1 of column 'f' is not finite in float32: row id 'r9'");
        Files.walk(dir.resolve("in.parquet")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        rows = good(20);
        rows.set(6, row("r6", "dog", new double[] {1, 2, -1e39})); // a finite double, -infinity in float32
        String source = parquet(rows);
        String infinite = "feature value -Infinity at index 2 of column 'f' is not finite in float32: row id 'r6'";
        assertThat(refused(source, "--id", "id", "--features", "f", "--label", "y")).endsWith(infinite);
        // with a transform the typed map checks finiteness, in the same words
        assertThat(refused(source, "--id", "id", "--features", "f", "--label", "y", "--scale", "1/255"))
                .endsWith(infinite);
        assertThat(refused(source, "--id", "id", "--features", "f", "--label", "y", "--standardize"))
                .endsWith(infinite);
        Files.walk(dir.resolve("in.parquet")).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        rows = good(20);
        rows.set(13, row("r13", "cat", new double[] {1, 2}));
        assertThat(refused(parquet(rows), "--id", "id", "--features", "f", "--label", "y"))
                .endsWith("vector length mismatch: column 'f' has 2 values in this row, 3 in the first row: row id"
                        + " 'r13'");
    }

    @Test
    void mixedImageSizes() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            int side = i == 8 ? 12 : 8;
            rows.add(RowFactory.create("img" + i, "cat", null, png(side, side, BufferedImage.TYPE_BYTE_GRAY)));
        }
        assertThat(refused(parquet(rows), "--id", "id", "--classes", "cat,dog", "--label", "y", "--features", "png"))
                .endsWith("mixed image sizes: this image is 12x12 (height x width), the first one 8x8; pass --shape"
                        + " CxHxW to resize them: row id 'img8'");
    }

    @Test
    void unreadableImageBytes() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            byte[] bytes = png(8, 8, BufferedImage.TYPE_BYTE_GRAY);
            if (i == 5) {
                bytes = Arrays.copyOf(bytes, 30); // a truncated PNG
            }
            rows.add(RowFactory.create("img" + i, "cat", null, bytes));
        }
        assertThat(refused(parquet(rows), "--id", "id", "--classes", "cat,dog", "--label", "y", "--features", "png",
                "--shape", "1x8x8")).contains("unreadable image bytes (").endsWith("30 bytes starting"
                + " 0x89504e470d0a1a0a): row id 'img5'");
    }

    @Test
    void aMissingColumnOrAWrongType() throws IOException {
        String source = parquet(good(10));
        assertThat(refused(source, "--id", "id", "--label", "species", "--features", "f"))
                .endsWith("label column 'species' not found in parquet source " + source + " (columns: id, y, f, png)");
        assertThat(refused(source, "--id", "f", "--label", "y", "--features", "f"))
                .endsWith("id column 'f' has type array<double>: an id must be an integer or a string column (or pass"
                        + " --id-from COL,... to hash several columns)");
        assertThat(refused(source, "--id", "id", "--label", "f", "--features", "f"))
                .contains("label column 'f' has type array<double>");
    }

    @Test
    void anIntegerLabelOutOfRangeAndAnUnknownSplitValue() throws IOException {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            rows.add(RowFactory.create((long) i, i == 6 ? 5 : i % 2, 0.5 * i, i == 3 ? "tset" : "train"));
        }
        StructType schema = new StructType().add("id", DataTypes.LongType).add("y", DataTypes.IntegerType)
                .add("x", DataTypes.DoubleType).add("part", DataTypes.StringType);
        String source = dir.resolve("ints.parquet").toString();
        spark().createDataFrame(rows, schema).write().parquet(source);
        assertThat(refused(source, "--id", "id", "--label", "y", "--features", "x", "--classes", "a,b"))
                .endsWith("label 5 in column 'y' is out of range [0, 2) (2 classes from --classes); 1 row(s) have it:"
                        + " row id 6");
        assertThat(refused(source, "--id", "id", "--label", "y", "--features", "x", "--split-column", "part"))
                .endsWith("split column 'part' has value 'tset' (expected train, validation or test): row id 3");
    }

    @Test
    void aCsvValueThatIsNotANumber() throws IOException {
        Path csv = dir.resolve("in.csv");
        Files.writeString(csv, "key,label,a,b\nk1,x,1,2\nk2,y,3,oops\nk3,x,5,6\n");
        CliRun r = CliRun.of("ingest", "--format", "csv", "--option", "header=true", "--source", csv.toString(),
                "--id", "key", "--label", "label", "--features", "a,b", "--out", dir.resolve("out").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("distill ingest: error: feature value 'oops' in column 'b' is not a"
                + " number: row id 'k2'");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    @Test
    void aCsvValueBeyondFloat32() throws IOException {
        Path csv = dir.resolve("in.csv");
        Files.writeString(csv, "key,label,a,b\nk1,x,1,2\nk2,y,3,4\nk3,x,5e40,6\n");
        CliRun r = CliRun.of("ingest", "--format", "csv", "--option", "header=true", "--option", "inferSchema=true",
                "--source", csv.toString(), "--id", "key", "--label", "label", "--features", "a,b", "--out",
                dir.resolve("out").toString());
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("distill ingest: error: feature value 5.0E40 in column 'a' is not"
                + " finite in float32: row id 'k3'");
        assertThat(dir.resolve("out")).doesNotExist();
    }
}
