package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class FeatureTransformTest {
    @Test
    void aFractionDividesExactlyAsTheIdxIngestAlwaysDid() {
        FeatureTransform t = FeatureTransform.scale("1/255");
        for (int pixel = 0; pixel < 256; pixel++) {
            assertThat(Float.floatToIntBits(t.apply(0, pixel))).isEqualTo(Float.floatToIntBits(pixel / 255f));
        }
        // a rounded reciprocal would not: 1/255 as a float times 3 is not 3/255
        assertThat(3 * (1f / 255f)).isNotEqualTo(3 / 255f);
        assertThat(FeatureTransform.scale("0.5").apply(0, 3f)).isEqualTo(1.5f);
        assertThat(FeatureTransform.IDENTITY.apply(new float[] {1.25f, -7f})).containsExactly(1.25f, -7f);
    }

    @Test
    void standardizesAfterScalingInFloat32() {
        FeatureTransform t = FeatureTransform.scale("1/2").standardized(new float[] {1f, 0f}, new float[] {2f, 1f});
        assertThat(t.apply(new float[] {6f, 4f})).containsExactly((3f - 1f) / 2f, 2f);
    }

    @Test
    void roundTripsThroughTheManifest() {
        FeatureTransform t = FeatureTransform.scale("1/255").standardized(new float[] {0.1f, 0.3333f},
                new float[] {0.7f, 1f});
        Manifest m = Manifest.fromJson(Manifest.sealed("ingest", Map.of(), Map.of(),
                Manifest.facts(TransferSchema.PREPROCESSING, t.facts()), Map.of(), null).toJson(), "test");
        assertThat(FeatureTransform.of(m)).isEqualTo(t);
        assertThat(FeatureTransform.of(Manifest.sealed("ingest", Map.of(), Map.of(), Map.of(), Map.of(), null)))
                .isNull();
    }

    @Test
    void refusesBadScalesAndStatistics() {
        assertThatThrownBy(() -> FeatureTransform.scale("1/0")).hasMessageContaining("got '1/0'");
        assertThatThrownBy(() -> FeatureTransform.scale("a/b")).hasMessageContaining("fraction like 1/255");
        assertThatThrownBy(() -> FeatureTransform.IDENTITY.standardized(new float[] {0f}, new float[] {0f}))
                .hasMessageContaining("positive std");
    }
}
