package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.parquet.bytes.BytesInput;
import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.column.page.DataPage;
import org.apache.parquet.column.page.DataPageV1;
import org.apache.parquet.column.page.DataPageV2;
import org.apache.parquet.column.page.DictionaryPage;
import org.apache.parquet.column.page.PageReader;
import org.apache.parquet.column.values.ValuesWriter;
import org.apache.parquet.column.values.dictionary.DictionaryValuesWriter;
import org.apache.parquet.column.values.plain.PlainValuesWriter;
import org.apache.parquet.column.values.rle.RunLengthBitPackingHybridEncoder;
import org.apache.parquet.schema.MessageTypeParser;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link PageScan.FeaturePages} over pages cut anywhere in a column chunk, as writers other than parquet-mr's may cut
 * them (a row beginning in one page and ending in a later one, a page wholly inside a row): levels and values encoded
 * by parquet-mr's own writers, in version 1 and 2 pages, PLAIN or dictionary ids whose bit width changes from page to
 * page. Every row read back as written, rows skipped where a partition starts, and a null element refused with the
 * line the other paths give. The same reader over files Spark and pyarrow wrote: {@link FeatureBatchesTest}.
 */
class PageScanTest {
    private static final int WIDTH = 10;
    private static final int ROWS = 15;
    private static final PageScan.Layout OPTIONAL = PageScan.Layout.of(MessageTypeParser.parseMessageType(
            "message t { required int64 id; optional group features (LIST) { repeated group list {"
                    + " optional float element; } } optional int32 label; }"));
    private static final PageScan.Layout REQUIRED = PageScan.Layout.of(MessageTypeParser.parseMessageType(
            "message t { required int64 id; required group features (LIST) { repeated group list {"
                    + " required float element; } } optional int32 label; }"));

    /** Pixel-like rows with few distinct values (dictionary ids of a few bits), some rows with long zero runs. */
    private static float[][] rows() {
        java.util.Random r = new java.util.Random(3);
        float[][] x = new float[ROWS][WIDTH];
        for (int i = 0; i < ROWS; i++) {
            for (int j = 0; j < WIDTH; j++) {
                // the first rows use 3 values, later ones up to 40: ids of 2 bits, then 6
                int levels = i < 5 ? 3 : 40;
                x[i][j] = i % 4 == 1 ? 0f : r.nextInt(levels) / (float) levels;
            }
        }
        x[7][3] = -0.0f;
        return x;
    }

    /**
     * The chunk of {@code x}'s rows cut into pages at level entries {@code cuts} (each page's entries
     * [cuts[k], cuts[k + 1])), row {@code nullAt / WIDTH}'s element {@code nullAt % WIDTH} null unless -1.
     */
    private static PageReader chunk(float[][] x, int[] cuts, boolean v2, boolean dictionary, PageScan.Layout layout,
                                    int nullAt) {
        int maxDef = layout.features().getMaxDefinitionLevel();
        int defWidth = org.apache.parquet.bytes.BytesUtils.getWidthFromMaxInt(maxDef);
        HeapByteBufferAllocator heap = new HeapByteBufferAllocator();
        DictionaryValuesWriter dict = dictionary ? new DictionaryValuesWriter.PlainFloatDictionaryValuesWriter(
                1 << 20, Encoding.RLE_DICTIONARY, Encoding.PLAIN, heap) : null;
        List<DataPage> pages = new ArrayList<>();
        try {
            for (int k = 0; k + 1 < cuts.length; k++) {
                RunLengthBitPackingHybridEncoder rep = new RunLengthBitPackingHybridEncoder(1, 64, 1 << 16, heap);
                RunLengthBitPackingHybridEncoder def = new RunLengthBitPackingHybridEncoder(defWidth, 64, 1 << 16,
                        heap);
                ValuesWriter values = dictionary ? dict : new PlainValuesWriter(64, 1 << 16, heap);
                int rowsStarting = 0;
                for (int e = cuts[k]; e < cuts[k + 1]; e++) {
                    rep.writeInt(e % WIDTH == 0 ? 0 : 1);
                    rowsStarting += e % WIDTH == 0 ? 1 : 0;
                    if (e == nullAt) {
                        def.writeInt(maxDef - 1);
                    } else {
                        def.writeInt(maxDef);
                        values.writeFloat(x[e / WIDTH][e % WIDTH]);
                    }
                }
                int count = cuts[k + 1] - cuts[k];
                BytesInput r = rep.toBytes();
                BytesInput d = def.toBytes();
                BytesInput data = BytesInput.copy(values.getBytes());
                Encoding encoding = values.getEncoding();
                values.reset();
                pages.add(v2
                        ? DataPageV2.uncompressed(rowsStarting, nullAt >= cuts[k] && nullAt < cuts[k + 1] ? 1 : 0,
                                count, r, d, encoding, data, null)
                        : new DataPageV1(BytesInput.concat(BytesInput.fromInt((int) r.size()), r,
                                BytesInput.fromInt((int) d.size()), d, data), count, 0, null, Encoding.RLE,
                                Encoding.RLE, encoding));
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        DictionaryPage dictionaryPage = dictionary ? dict.toDictPageAndClose() : null;
        Iterator<DataPage> it = pages.iterator();
        return new PageReader() {
            @Override
            public DictionaryPage readDictionaryPage() {
                return dictionaryPage;
            }

            @Override
            public long getTotalValueCount() {
                return (long) ROWS * WIDTH;
            }

            @Override
            public DataPage readPage() {
                return it.hasNext() ? it.next() : null;
            }
        };
    }

    @ParameterizedTest(name = "version 2 pages {0}, dictionary {1}, optional levels {2}")
    @CsvSource({"false, false, true", "false, true, true", "false, true, false", "false, false, false",
        "true, true, true", "true, false, false"})
    void readsRowsWhereverPagesAreCut(boolean v2, boolean dictionary, boolean optional) {
        float[][] x = rows();
        PageScan.Layout layout = optional ? OPTIONAL : REQUIRED;
        // pages: part of row 0; the rest of it and rows 1-2 and part of 3; two pages inside row 5; whole rows; ...
        int[] cuts = v2 ? new int[] {0, 30, 40, 100, 150} : new int[] {0, 3, 37, 50, 52, 58, 60, 99, 100, 150};
        PageScan.FeaturePages pages = new PageScan.FeaturePages(chunk(x, cuts, v2, dictionary, layout, -1), layout,
                "chunk");
        float[] into = new float[WIDTH + 4];
        for (int i = 0; i < ROWS; i++) {
            pages.row(i, into, 2, WIDTH);
            float[] got = java.util.Arrays.copyOfRange(into, 2, 2 + WIDTH);
            // bit for bit: -0.0 stays -0.0
            assertThat(floatBits(got)).as("row %d", i).containsExactly(floatBits(x[i]));
        }
        assertThatThrownBy(() -> pages.row(ROWS, into, 0, WIDTH)).isInstanceOf(IllegalStateException.class)
                .hasMessage("chunk: the features column has fewer rows than the footer says");
        // a partition that starts at row 4, 5 or 6 skips the rows before it, across the cuts
        for (int start = 4; start <= 6; start++) {
            PageScan.FeaturePages skipping = new PageScan.FeaturePages(chunk(x, cuts, v2, dictionary, layout, -1),
                    layout, "chunk");
            for (int i = 0; i < start; i++) {
                skipping.skipRow();
            }
            for (int i = start; i < ROWS; i++) {
                skipping.row(i, into, 0, WIDTH);
                assertThat(floatBits(java.util.Arrays.copyOf(into, WIDTH))).containsExactly(floatBits(x[i]));
            }
        }
    }

    @ParameterizedTest(name = "version 2 pages {0}")
    @CsvSource({"false", "true"})
    void refusesANullElementInARowThatSpansPages(boolean v2) {
        float[][] x = rows();
        int[] cuts = v2 ? new int[] {0, 50, 150} : new int[] {0, 53, 150};
        PageScan.FeaturePages pages = new PageScan.FeaturePages(chunk(x, cuts, v2, true, OPTIONAL, 56), OPTIONAL,
                "chunk");
        float[] into = new float[WIDTH];
        for (int i = 0; i < 5; i++) {
            pages.row(i, into, 0, WIDTH);
        }
        assertThatThrownBy(() -> pages.row(5, into, 0, WIDTH)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("non-finite feature value NaN for id 5");
    }

    @ParameterizedTest(name = "dictionary {0}")
    @CsvSource({"false", "true"})
    void refusesAnInfiniteValueFromPlainOrDictionaryPages(boolean dictionary) {
        float[][] x = rows();
        x[9][4] = Float.NEGATIVE_INFINITY;
        PageScan.FeaturePages pages = new PageScan.FeaturePages(chunk(x, new int[] {0, 60, 150}, false, dictionary,
                REQUIRED, -1), REQUIRED, "chunk");
        float[] into = new float[WIDTH];
        for (int i = 0; i < 9; i++) {
            pages.row(i, into, 0, WIDTH);
        }
        assertThatThrownBy(() -> pages.row(9, into, 0, WIDTH)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("non-finite feature value -Infinity for id 9");
    }

    @org.junit.jupiter.api.Test
    void findsTheFirstNonFiniteValueWhereverItIs() {
        for (int n : new int[] {0, 1, 7, 8, 9, 784}) {
            float[] x = new float[n + 3];
            java.util.Arrays.fill(x, -0.0f);
            assertThat(PageScan.FeaturePages.firstNonFinite(x, 3, n)).isEqualTo(-1);
            for (int at = 0; at < n; at += Math.max(1, n / 5)) {
                for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                    float[] y = x.clone();
                    y[3 + at] = bad;
                    y[2] = Float.NaN; // before the range: not looked at
                    assertThat(PageScan.FeaturePages.firstNonFinite(y, 3, n)).isEqualTo(at);
                }
            }
        }
        assertThat(PageScan.FeaturePages.firstNonFinite(new float[] {Float.MAX_VALUE, -Float.MAX_VALUE, 1e-45f}, 0, 3))
                .isEqualTo(-1);
    }

    private static int[] floatBits(float[] x) {
        int[] bits = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            bits[i] = Float.floatToRawIntBits(x[i]);
        }
        return bits;
    }
}
