package org.distillery.model.text;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class DocumentsTest {
    private static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    @Test
    void decodesValidUtf8IncludingCharactersOutsideTheBmp() {
        String text = "caf\u00e9 \u20ac " + new String(Character.toChars(0x1F600));
        assertThat(Documents.decode("d1", text.getBytes(StandardCharsets.UTF_8))).isEqualTo(text);
    }

    @Test
    void invalidUtf8IsOneLineNamingTheDocumentAndTheByte() {
        assertThatThrownBy(() -> Documents.decode("jargon:17", bytes('a', 0xC3, '(')))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("document 'jargon:17' is not valid UTF-8: malformed input of 1 byte at byte 1");
        // an overlong encoding of '/', an encoded surrogate (CESU-8), a lone continuation byte, a truncated sequence
        List<byte[]> bad = List.of(bytes(0xC0, 0xAF), bytes('x', 0xED, 0xA0, 0x80), bytes(0x80),
                bytes('a', 0xE2, 0x82));
        for (byte[] b : bad) {
            assertThatThrownBy(() -> Documents.decode("d2", b))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("document 'd2' is not valid UTF-8: malformed input of")
                    .hasMessageNotContaining("\n");
        }
    }

    @Test
    void emptyDocumentsAndUnpairedSurrogatesAreRefused() {
        assertThatThrownBy(() -> Documents.decode("fortunes:3", new byte[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("document 'fortunes:3' is empty");
        assertThatThrownBy(() -> Documents.check("7", "")).hasMessage("document '7' is empty");
        assertThatThrownBy(() -> Documents.check("8", "ab\uD800c"))
                .hasMessage("document '8' is not valid Unicode: unpaired surrogate U+D800 at char 2");
        assertThatThrownBy(() -> Documents.check("9", "\uDC00"))
                .hasMessage("document '9' is not valid Unicode: unpaired surrogate U+DC00 at char 0");
        assertThat(Documents.check("10", "\uD83D\uDE00")).isEqualTo("\uD83D\uDE00");
    }

    @Test
    void aStreamIsTheDocumentBetweenTwoBoundaries() {
        CharVocabulary v = CharVocabulary.build(List.of("ab"), 1);
        assertThat(Documents.stream(v, "d", "bza")).containsExactly(CharVocabulary.BOUNDARY, 3, CharVocabulary.UNKNOWN,
                2, CharVocabulary.BOUNDARY);
        assertThatThrownBy(() -> Documents.stream(v, "e", "")).hasMessage("document 'e' is empty");
    }
}
