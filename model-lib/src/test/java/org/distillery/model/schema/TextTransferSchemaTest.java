package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.distillery.model.text.CharVocabulary;
import org.distillery.model.text.Documents;
import org.distillery.model.text.Windowing;
import org.junit.jupiter.api.Test;

/** The stored window form round-trips Windowing's cut; readers check the recorded vocabulary and version. */
class TextTransferSchemaTest {
    private static Manifest manifest(Object version, List<Integer> codePoints, String sha, int size) {
        return Manifest.sealed("ingest", Map.of(), Map.of(), Manifest.facts(TextTransferSchema.SCHEMA_VERSION, version,
                TextTransferSchema.WINDOW_LENGTH, 8, TextTransferSchema.BURN_IN, 2,
                TextTransferSchema.VOCABULARY, codePoints, TextTransferSchema.VOCABULARY_SHA256, sha,
                TextTransferSchema.VOCABULARY_SIZE, size), Map.of(), null);
    }

    @Test
    void storedTokensGiveBackEveryWindowOfADocument() {
        CharVocabulary v = CharVocabulary.build(List.of("a cab, a bad cab"), 1);
        Windowing windowing = new Windowing(6, 2);
        List<Windowing.Window> cut = windowing.cut(Documents.stream(v, "d", "a cab, a bad cab; abba"));
        assertThat(cut).hasSizeGreaterThan(3);
        for (Windowing.Window w : cut) {
            int[] tokens = TextTransferSchema.tokens(w);
            assertThat(tokens).hasSize(7);
            Windowing.Window back = TextTransferSchema.window(w.index(), w.start(), tokens, w.scoredFrom(),
                    w.scoredTo());
            assertThat(back.inputs()).isEqualTo(w.inputs());
            assertThat(back.targets()).isEqualTo(w.targets());
            assertThat(back.mask()).isEqualTo(w.mask());
        }
    }

    /** A stream that does not end on a boundary (a generated sample cut at N tokens) keeps its last target too. */
    @Test
    void storedTokensKeepTheLastTargetOfAStreamThatDoesNotEndOnABoundary() {
        Windowing windowing = new Windowing(6, 2);
        for (int n = 2; n < 30; n++) {
            int[] stream = java.util.stream.IntStream.range(10, 10 + n).toArray();
            for (Windowing.Window w : windowing.cut(stream)) {
                Windowing.Window back = TextTransferSchema.window(w.index(), w.start(), TextTransferSchema.tokens(w),
                        w.scoredFrom(), w.scoredTo());
                for (int p = w.scoredFrom(); p < w.scoredTo(); p++) {
                    assertThat(back.targets()[p]).as("n=%d window %d position %d", n, w.index(), p)
                            .isEqualTo(stream[w.start() + p + 1]);
                }
            }
        }
    }

    @Test
    void readersTakeTheRecordedVocabularyOnlyWhenItsHashMatches() {
        CharVocabulary v = CharVocabulary.of(List.of(10, 32, 97));
        Manifest good = manifest(1, v.codePoints(), v.sha256(), v.size());
        assertThat(TextTransferSchema.vocabulary(good)).isEqualTo(v);
        assertThat(TextTransferSchema.windowing(good)).isEqualTo(new Windowing(8, 2));
        Manifest edited = manifest(1, List.of(10, 32, 98), v.sha256(), v.size());
        assertThatThrownBy(() -> TextTransferSchema.vocabulary(edited)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("but it records " + v.sha256());
        assertThatThrownBy(() -> TextTransferSchema.vocabulary(manifest(2, v.codePoints(), v.sha256(), v.size())))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is not a text transfer set of schema version 1");
    }
}
