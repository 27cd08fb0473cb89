package org.distillery.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CharVocabularyTest {
    @Test
    void idsAreReservedThenSortedCodePoints() {
        CharVocabulary v = CharVocabulary.build(List.of("cab", "ba\n"), 1);
        assertThat(v.codePoints()).containsExactly((int) '\n', (int) 'a', (int) 'b', (int) 'c');
        assertThat(v.size()).isEqualTo(6);
        assertThat(v.id('\n')).isEqualTo(2);
        assertThat(v.id('c')).isEqualTo(5);
        assertThat(v.id('z')).isEqualTo(CharVocabulary.UNKNOWN);
        assertThat(v.codePoint(3)).isEqualTo('a');
        assertThat(v.codePoint(CharVocabulary.BOUNDARY)).isEqualTo(-1);
        assertThatThrownBy(() -> v.codePoint(6)).hasMessage("token id must be in [0, 6), got 6");
    }

    @Test
    void encodesDecodesAndCountsUnknownCharacters() {
        String emoji = new String(Character.toChars(0x1F600)); // outside the BMP: one code point, two chars
        CharVocabulary v = CharVocabulary.build(List.of("ab" + emoji), 1);
        int[] ids = v.encode("a" + emoji + "zb?");
        assertThat(ids).containsExactly(2, 4, 0, 3, 0);
        assertThat(CharVocabulary.unknown(ids)).isEqualTo(2);
        assertThat(v.decode(ids)).isEqualTo("a" + emoji + "\uFFFDb\uFFFD");
        assertThat(v.decode(new int[] {CharVocabulary.BOUNDARY, 2, CharVocabulary.BOUNDARY})).isEqualTo("a");
    }

    @Test
    void rareCharactersBecomeUnknownBelowTheMinimumCount() {
        Map<Integer, Long> counts = CharVocabulary.count("aaabbc");
        assertThat(counts).containsEntry((int) 'a', 3L).containsEntry((int) 'c', 1L);
        assertThat(CharVocabulary.fromCounts(counts, 2).codePoints()).containsExactly((int) 'a', (int) 'b');
        assertThatThrownBy(() -> CharVocabulary.fromCounts(counts, 0))
                .hasMessage("minimum character count must be >= 1, got 0");
    }

    @Test
    void manifestFormRoundTripsAndTheHashIsTheDocumentedOne() throws Exception {
        CharVocabulary v = CharVocabulary.build(List.of("hello, world\n"), 1);
        CharVocabulary back = CharVocabulary.of(v.codePoints());
        assertThat(back).isEqualTo(v).hasSameHashCodeAs(v);
        assertThat(back.sha256()).isEqualTo(v.sha256());

        String canonical = "distillery.char-vocabulary/1\n10,32,44,100,101,104,108,111,114,119";
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(canonical.getBytes(StandardCharsets.UTF_8)));
        assertThat(v.sha256()).isEqualTo(expected).hasSize(64);
        assertThat(CharVocabulary.of(List.of(10, 32)).sha256())
                .isNotEqualTo(CharVocabulary.of(List.of(10, 33)).sha256());
        assertThat(CharVocabulary.of(List.of()).size()).isEqualTo(CharVocabulary.RESERVED);
    }

    @Test
    void refusesManifestListsThatAreNotAscendingScalarValues() {
        assertThatThrownBy(() -> CharVocabulary.of(List.of(97, 97)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("vocabulary code points must be ascending and distinct, got 97 after 97 at entry 1");
        assertThatThrownBy(() -> CharVocabulary.of(List.of(98, 97)))
                .hasMessage("vocabulary code points must be ascending and distinct, got 97 after 98 at entry 1");
        assertThatThrownBy(() -> CharVocabulary.of(List.of(0xD800)))
                .hasMessage("vocabulary entry 0 is not a Unicode scalar value: 55296");
        assertThatThrownBy(() -> CharVocabulary.of(List.of(-1))).hasMessage("vocabulary entry 0 is not a Unicode scalar"
                + " value: -1");
        assertThatThrownBy(() -> CharVocabulary.of(null))
                .hasMessage("a character vocabulary needs a list of code points, got null");
    }
}
