package org.distillery.jobs.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.distillery.jobs.SparkTestBase;
import org.junit.jupiter.api.Test;

/** The input hash: XXH64 of the features' little-endian float32 bytes, then the label; one function, two callers. */
class InputHashTest extends SparkTestBase {
    private static final float[] X = {0.0f, 1 / 255f, 0.5f, -0.0f, 3.25f, -1e-3f, 784.0f};

    /**
     * Golden values from the reference XXH64 (python-xxhash 4.0.1): {@code xxhash.xxh64_intdigest(
     * np.array([0.0, 1/255, 0.5, -0.0, 3.25, -1e-3, 784.0], dtype='<f4').tobytes(), seed=42)} as a signed long, and
     * the same over the first four values.
     */
    @Test
    void isTheReferenceXxh64OfTheFeatureBytes() {
        assertThat(InputHash.of(X, 0, 7, null)).isEqualTo(5490503310534848147L);
        assertThat(InputHash.of(X, 0, 4, null)).isEqualTo(2799808587222749323L);
        float[] padded = new float[12];
        System.arraycopy(X, 0, padded, 3, 7);
        assertThat(InputHash.of(padded, 3, 7, null)).isEqualTo(5490503310534848147L);
        // the label is part of the input; no label differs from label 0
        assertThat(InputHash.of(X, 0, 7, 0)).isNotEqualTo(InputHash.of(X, 0, 7, null))
                .isNotEqualTo(InputHash.of(X, 0, 7, 1));
    }

    @Test
    void sparkColumnGivesTheSameHashes() {
        List<Row> rows = List.of(RowFactory.create(1L, X, 3), RowFactory.create(2L, X, null),
                RowFactory.create(3L, new float[] {-0.0f, 0.0f}, 9));
        List<Row> hashed = spark().createDataFrame(rows, TransferTables.SCHEMA)
                .select(InputHash.column()).collectAsList();
        assertThat(hashed.get(0).getLong(0)).isEqualTo(InputHash.of(X, 0, 7, 3));
        assertThat(hashed.get(1).getLong(0)).isEqualTo(5490503310534848147L);
        assertThat(hashed.get(2).getLong(0)).isEqualTo(InputHash.of(new float[] {-0.0f, 0.0f}, 0, 2, 9));
    }

    @Test
    void outputsWithoutTheFactWereHashedValueByValue() {
        assertThat(InputHash.version(Map.of())).isEqualTo(InputHash.VERSION_1);
        assertThat(InputHash.version(Map.of(InputHash.FACT, InputHash.VERSION))).isEqualTo(InputHash.VERSION);
    }
}
