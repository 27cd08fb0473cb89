package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransferSchemaTest {
    private static Manifest transfer(Object... facts) {
        return Manifest.sealed("ingest", Map.of(), Map.of(), Manifest.facts(facts), Map.of(), null);
    }

    @Test
    void readsTheRecordedShapeOrFallsBackToAVector() {
        assertThat(TransferSchema.shape(transfer(TransferSchema.FEATURE_COUNT, 784, TransferSchema.SHAPE,
                List.of(1, 28, 28)))).containsExactly(1, 28, 28);
        assertThat(TransferSchema.shape(transfer(TransferSchema.FEATURE_COUNT, 12))).containsExactly(12);
    }

    @Test
    void refusesAShapeThatDoesNotHoldTheFeatures() {
        Manifest m = transfer(TransferSchema.FEATURE_COUNT, 784, TransferSchema.SHAPE, List.of(3, 28, 28));
        assertThatThrownBy(() -> TransferSchema.shape(m)).isInstanceOf(IllegalStateException.class)
                .hasMessageEndingWith("exampleShape [3, 28, 28] holds 2352 values, but featureCount is 784");
        assertThatThrownBy(() -> TransferSchema.shape(transfer(TransferSchema.FEATURE_COUNT, 4, TransferSchema.SHAPE,
                List.of(2, -2)))).hasMessageContaining("malformed exampleShape");
    }

    @Test
    void readsTheRecordedClassNamesOrNumbersThem() {
        assertThat(TransferSchema.classNames(transfer(TransferSchema.CLASSES, 2, TransferSchema.CLASS_NAMES,
                List.of("cat", "dog")))).containsExactly("cat", "dog");
        assertThat(TransferSchema.classNames(transfer(TransferSchema.CLASSES, 3))).containsExactly("0", "1", "2");
        assertThatThrownBy(() -> TransferSchema.classNames(transfer(TransferSchema.CLASSES, 3,
                TransferSchema.CLASS_NAMES, List.of("cat", "dog")))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("malformed classNames for 3 classes");
    }
}
