package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.distillery.model.schema.SoftTargetLayout.Precision;
import org.junit.jupiter.api.Test;

/** A window's positions stored and read back: each position as {@link SoftTargetCodec} stores a row. */
class TokenSoftTargetCodecTest {
    private static final int V = 30;

    private static float[][] window(int positions, long seed) {
        Random rng = new Random(seed);
        float[][] z = new float[positions][V];
        for (float[] row : z) {
            for (int v = 0; v < V; v++) {
                row[v] = (float) (2 * rng.nextGaussian());
            }
        }
        return z;
    }

    private static TokenSoftTargetCodec codec(Precision p, int k) {
        return new TokenSoftTargetCodec(TokenSoftTargetSchema.layout(V, p.id(), k));
    }

    @Test
    void denseFp32IsLosslessAndConcatenatesPositions() {
        float[][] z = window(5, 1);
        Object[] stored = codec(Precision.FP32, V).encode(z);
        assertThat((float[]) stored[0]).hasSize(5 * V);
        assertThat(codec(Precision.FP32, V).decode(5, stored)).isDeepEqualTo(z);
    }

    @Test
    void topKPositionsEqualThePerRowCodecs() {
        float[][] z = window(7, 2);
        for (Precision p : Precision.values()) {
            TokenSoftTargetCodec codec = codec(p, 4);
            SoftTargetCodec rows = new SoftTargetCodec(new SoftTargetLayout(V, p, 4, false));
            Object[] stored = codec.encode(z);
            float[][] back = codec.decode(7, stored);
            TokenSoftTargetCodec.TopKPositions top = codec.topK(7, stored);
            for (int i = 0; i < 7; i++) {
                assertThat(back[i]).containsExactly(rows.decode(rows.encode(z[i], 1.0)));
                SoftTargetCodec.TopK want = SoftTargetCodec.topK(z[i], 4);
                assertThat(top.index()[i]).containsExactly(want.index());
                assertThat(top.tailLse()[i]).isEqualTo(want.tailLse());
                double lse = 0; // the tail's log-sum-exp computed directly over the V - 4 tokens left out
                for (int v = 0; v < V; v++) {
                    final int token = v;
                    if (java.util.Arrays.stream(want.index()).noneMatch(j -> j == token)) {
                        lse += Math.exp(z[i][v]);
                    }
                }
                assertThat((double) top.tailLse()[i]).isCloseTo(Math.log(lse), within(1e-5));
            }
        }
    }

    @Test
    void aWindowWithoutScoredPositionsStoresEmptyArrays() {
        Object[] stored = codec(Precision.FP16, 3).encode(new float[0][]);
        assertThat((byte[]) stored[1]).isEmpty();
        assertThat(codec(Precision.FP16, 3).decode(0, stored)).isEmpty();
    }

    @Test
    void storedValuesOfAnotherLengthAreRefused() {
        Object[] stored = codec(Precision.FP32, 4).encode(window(3, 3));
        assertThatThrownBy(() -> codec(Precision.FP32, 4).decode(2, stored))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("stored topk_index has 12 values, expected 8 (2 positions x top 4)");
        assertThatThrownBy(() -> codec(Precision.FP32, 4).encode(new float[][] {new float[V - 1]}))
                .hasMessage("got 29 logits at scored position 0 for a vocabulary of 30");
    }

    @Test
    void theLayoutIsReadBackFromItsFactsAndOtherVersionsAreRefused() {
        SoftTargetLayout layout = TokenSoftTargetSchema.layout(V, "fp16", 8);
        java.util.Map<String, Object> facts = TokenSoftTargetSchema.facts(layout);
        Manifest m = Manifest.sealed("label", java.util.Map.of(), java.util.Map.of(), facts, java.util.Map.of(), "t");
        assertThat(TokenSoftTargetSchema.layout(m, "here")).isEqualTo(layout);
        facts.put(TokenSoftTargetSchema.SCHEMA_VERSION, 2);
        Manifest v2 = Manifest.sealed("label", java.util.Map.of(), java.util.Map.of(), facts, java.util.Map.of(), "t");
        assertThatThrownBy(() -> TokenSoftTargetSchema.layout(v2, "here")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is not token-level soft targets of schema version 1");
    }
}
